import { ApiError } from './api-client.js';

/**
 * What went wrong, in a sentence a buyer can act on. Every error the page can meet ends here, so
 * the page never shows a status code or a stack, and each sentence says what to do next.
 */
export function inWords(error: unknown): string {
  if (!(error instanceof ApiError)) {
    return 'The box office cannot be reached. Check your connection and try again.';
  }
  const wait = error.retryAfterSeconds;
  switch (error.code) {
    case 'SEAT_UNAVAILABLE':
      return 'Sorry, someone else just took that seat. It is now shown as held: pick another.';
    case 'NO_SEATS_TOGETHER':
      return 'There are not that many seats together any more. Pick seats on the map.';
    case 'NO_SEATS_AVAILABLE':
      return 'There are not that many seats left in this session.';
    case 'HOLD_LIMIT':
      return 'You already hold as many seats as one buyer may for this session.';
    case 'HOLD_EXPIRED':
      return 'Your hold ran out and the seats went back on sale. Pick seats again.';
    case 'SESSION_STARTED':
      return 'This session has started: its seats are no longer on sale.';
    case 'SESSION_NOT_FOUND':
      return 'This session has ended or does not exist.';
    case 'INVALID_CREDENTIALS':
      return 'That email and password do not match an account.';
    case 'EMAIL_TAKEN':
      return 'An account with that email already exists: sign in instead.';
    case 'NOT_ADMITTED':
      return 'It is not your turn yet: wait in the line for this premiere.';
    case 'VALIDATION_FAILED':
      return `Please check what you typed: ${error.message}`;
  }
  switch (error.status) {
    case 401:
      return 'You are signed out. Sign in again to go on; your seats stay yours until they expire.';
    case 413:
      return 'That was more than the box office accepts in one go.';
    case 429:
    case 503:
      return wait
        ? `The box office is busy. Please try again in ${wait} s.`
        : 'The box office is busy. Please try again in a moment.';
  }
  return error.status >= 500
    ? 'Something went wrong at the box office. Please try again.'
    : error.message;
}
