import { AppError } from '../../shared/errors';

/** How long a refused client is asked to wait before opening a stream again. */
export const STREAM_RETRY_AFTER_SECONDS = 10;

/**
 * Open live-map streams of this API process, counted per client address and in all (§4.7). The
 * count per address lives only while that address has a stream open, so the map cannot grow
 * beyond the streams themselves. Counted per process, as the contract asks: each process holds
 * its own streams, sockets and memory, which is what the caps protect.
 */
export class StreamSlots {
  private readonly perAddress = new Map<string, number>();
  private open = 0;

  constructor(private readonly limits: { maxStreams: number; maxStreamsPerAddress: number }) {}

  /** Takes a slot for `address`, or refuses (503); the returned function gives it back once. */
  take(address: string): () => void {
    const mine = this.perAddress.get(address) ?? 0;
    if (mine >= this.limits.maxStreamsPerAddress) {
      throw streamsRefused(
        'TOO_MANY_STREAMS',
        `At most ${this.limits.maxStreamsPerAddress} live seat maps may be open from one address.`,
      );
    }
    if (this.open >= this.limits.maxStreams) {
      throw streamsRefused('STREAMS_BUSY', 'This server has no room for another live seat map.');
    }
    this.perAddress.set(address, mine + 1);
    this.open++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.open--;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    };
  }

  /** Streams open right now (for tests and metrics). */
  get size(): number {
    return this.open;
  }
}

const streamsRefused = (code: string, message: string) =>
  new AppError(503, code, message, { retryAfterSeconds: STREAM_RETRY_AFTER_SECONDS });
