/**
 * A failure the client can act on. Use cases throw these; the API maps them to
 * `{ error: { code, message, ...details } }` with `status`. Anything else is a bug → 500.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string, id: string) =>
  new AppError(
    404,
    `${what.toUpperCase().replace(/ /g, '_')}_NOT_FOUND`,
    `No ${what} with id ${id}.`,
    {
      id,
    },
  );
