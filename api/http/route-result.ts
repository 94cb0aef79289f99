/** What a route handler answers; also what an idempotent route keeps and replays. */
export interface RouteResult {
  status: number;
  body?: unknown;
  /** The body already serialised as JSON (a cached answer), sent as it is instead of `body`. */
  json?: Buffer;
  headers?: Record<string, string>;
  /** The handler answered itself (an event stream): nothing is left to send. */
  streamed?: boolean;
}
