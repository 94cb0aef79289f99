/**
 * A failure the client can act on. Use cases throw these; the API maps them to
 * `{ error: { code, message, ...details } }` with `status`. Anything else is a bug → 500.
 */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    // An answer to a client, not a bug: no stack trace to capture (nothing ever prints it). In
    // a race for one seat all but one of the requests end in one.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Every error answer, from the API and from a worker's health port: `{ error: { code, message, ...details } }`. */
export interface ErrorBody {
  error: { code: string; message: string } & Record<string, unknown>;
}

export const errorBody = (
  code: string,
  message: string,
  details: Record<string, unknown> = {},
): ErrorBody => ({ error: { code, message, ...details } });

/** What a client is told of a refusal (its status goes on the HTTP answer). */
export const refusalBody = (err: AppError): ErrorBody =>
  errorBody(err.code, err.message, err.details);

/** Every missing thing answers one way: `404 <WHAT>_NOT_FOUND` with the `id` asked for. */
export const notFound = (what: string, id: string) =>
  new AppError(
    404,
    `${what.toUpperCase().replace(/ /g, '_')}_NOT_FOUND`,
    `No ${what} with id ${id}.`,
    {
      id,
    },
  );

export const routeNotFound = (method: string, path: string) =>
  new AppError(404, 'ROUTE_NOT_FOUND', `No route ${method} ${path}.`);
