import { waitFor } from './wait';

export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

/**
 * A Server-Sent Events client for tests, on fetch: it records every event and heartbeat comment
 * of one stream as they arrive, until closed.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  status = 0;
  private readonly abort = new AbortController();
  private done: Promise<void> = Promise.resolve();

  private constructor() {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    const res = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: client.abort.signal,
    });
    client.status = res.status;
    if (res.body) client.done = client.read(res.body).catch(() => undefined);
    return client;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of body) {
      text += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        this.parse(text.slice(0, end));
        text = text.slice(end + 2);
      }
    }
  }

  private parse(block: string): void {
    const event: SseEvent = { event: 'message', data: '' };
    let fields = 0;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments++;
        continue;
      }
      const colon = line.indexOf(':');
      const [name, value] = [line.slice(0, colon), line.slice(colon + 1).replace(/^ /, '')];
      fields++;
      if (name === 'event') event.event = value;
      else if (name === 'id') event.id = value;
      else if (name === 'data') event.data += value;
    }
    if (fields > 0 && event.data !== '') this.events.push(event);
  }

  ofType(event: string): SseEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Every `seats` change received, in order, as [seatId, status]. */
  changes(): [string, string][] {
    return this.ofType('seats').flatMap((e) =>
      (JSON.parse(e.data) as { changes: { id: string; status: string }[] }).changes.map(
        (c) => [c.id, c.status] as [string, string],
      ),
    );
  }

  /** The statuses one seat went through, in order. */
  historyOf(seatId: string): string[] {
    return this.changes()
      .filter(([id]) => id === seatId)
      .map(([, status]) => status);
  }

  until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
    return waitFor(probe, { what, timeoutMs, intervalMs: 10 });
  }

  get lastEventId(): string | undefined {
    return this.events.at(-1)?.id;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}
