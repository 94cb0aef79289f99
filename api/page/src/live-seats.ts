import type { SeatStatus, SessionMap } from './api-client.js';

export interface SeatFeed {
  snapshot(map: SessionMap): void;
  changes(changes: { id: string; status: SeatStatus }[]): void;
  /** The stream dropped or was refused; `retryInSeconds` when the page will try again by itself. */
  interrupted(retryInSeconds: number): void;
}

/** How long to wait before opening a refused stream again; the live map is worth a few seconds. */
const RETRY_SECONDS = [2, 5, 10, 30];

/**
 * Follows a session's live seat map (§4.7). EventSource resumes a dropped stream by itself with
 * Last-Event-ID; what it gives up on (a refusal such as `503` at the per-address cap) is opened
 * again here after a pause, and the snapshot it starts with repaints the whole map.
 * Answers a function that stops following.
 */
export function followSeats(sessionId: string, feed: SeatFeed): () => void {
  let source: EventSource | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;

  const open = () => {
    source = new EventSource(`/api/v1/sessions/${encodeURIComponent(sessionId)}/seats/stream`);
    source.addEventListener('snapshot', (event) => {
      failures = 0;
      feed.snapshot(JSON.parse((event as MessageEvent<string>).data) as SessionMap);
    });
    source.addEventListener('seats', (event) => {
      feed.changes(JSON.parse((event as MessageEvent<string>).data).changes);
    });
    source.addEventListener('error', () => {
      if (source?.readyState !== EventSource.CLOSED) return;
      const seconds = RETRY_SECONDS[Math.min(failures++, RETRY_SECONDS.length - 1)]!;
      feed.interrupted(seconds);
      retry = setTimeout(open, seconds * 1000);
    });
  };
  open();
  return () => {
    clearTimeout(retry);
    source?.close();
  };
}
