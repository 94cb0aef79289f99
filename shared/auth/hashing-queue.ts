import { AppError } from '../errors';

/** How long a client refused for a full queue is told to wait: a queue drains in well under it. */
const BUSY_RETRY_AFTER_SECONDS = 2;

/**
 * Password hashes, run at most `concurrency` at a time with at most `maxWaiting` waiting for a
 * turn (config.passwordHashing). Past that a sign-in or sign-up is refused at once with 503 BUSY
 * rather than queued: a crowd (or an attacker) signing in then takes at most `concurrency` of the
 * CPU that holds and payments need, and a refused client learns it now, not after a long wait.
 */
export class HashingQueue {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limits: { concurrency: number; maxWaiting: number }) {}

  /** Runs `work` when a turn is free; throws 503 BUSY at once when too many already wait. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limits.concurrency) {
      if (this.waiting.length >= this.limits.maxWaiting) throw busy();
      // The turn is handed over by the finishing task (below), so `active` never dips between.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.active += 1;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}

const busy = () =>
  new AppError(503, 'BUSY', 'Too many sign-ins at this moment; try again shortly.', {
    retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
  });
