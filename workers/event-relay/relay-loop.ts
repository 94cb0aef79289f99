import type { Logger } from '../../shared/logger';

/**
 * The loop both relays run: one round after another until stopped, a pause when a round found
 * little to do or failed, and a stop that lets the round in hand finish (its events published
 * and acknowledged) before it returns.
 */
export abstract class RelayLoop {
  private stopping = false;
  private done?: Promise<void>;

  protected constructor(
    protected readonly logger: Logger,
    /** Pause after a failed round, or after one that relayed fewer than `fullRound` events. */
    private readonly pauseMs: number,
    private readonly fullRound: number,
  ) {}

  /** One round; resolves with how many events it relayed. */
  abstract relayOnce(): Promise<number>;

  /** Called when a round throws, before the pause: a chance to reset state for the next one. */
  protected onRoundFailed(_err: Error): void {}

  start(): void {
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let relayed = 0;
      let failed = false;
      try {
        relayed = await this.relayOnce();
      } catch (err) {
        failed = true;
        this.onRoundFailed(err as Error);
        this.logger.warn(`${this.constructor.name} round failed; retrying`, { err });
      }
      // After a full round more is waiting: go again at once.
      if (failed || relayed < this.fullRound)
        await new Promise((resolve) => setTimeout(resolve, this.pauseMs));
    }
  }
}
