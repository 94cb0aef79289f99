import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, errorBody, refusalBody, routeNotFound } from '../../shared/errors';
import type { Logger } from '../../shared/logger';

/** The largest JSON body parsed (§4): anything larger is refused before it is read whole. */
export const BODY_LIMIT_KB = 64;

/** Errors raised by Express's own body parser, named by its `type` field. */
const BODY_PARSER_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  'entity.parse.failed': {
    status: 400,
    code: 'MALFORMED_JSON',
    message: 'The body is not valid JSON.',
  },
  'entity.too.large': {
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    message: `The body is larger than ${BODY_LIMIT_KB} KB.`,
  },
  'encoding.unsupported': {
    status: 415,
    code: 'UNSUPPORTED_ENCODING',
    message: 'The body encoding is not supported.',
  },
  'charset.unsupported': {
    status: 415,
    code: 'UNSUPPORTED_CHARSET',
    message: 'The body charset is not supported.',
  },
  'request.aborted': { status: 400, code: 'REQUEST_ABORTED', message: 'The request was aborted.' },
};

export const notFoundRoute: RequestHandler = (req) => {
  throw routeNotFound(req.method, req.path);
};

/**
 * The one place an error becomes an HTTP answer, always `{ error: { code, message, ... } }`.
 * Client mistakes are 4xx; only our own bugs and outages are 5xx, and their details stay in the
 * log (with the request id), never in the response.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (err instanceof AppError) {
      // A refusal that names when to come back (rate limits, a busy queue) says it in HTTP too.
      const { retryAfterSeconds } = err.details;
      if (typeof retryAfterSeconds === 'number')
        res.setHeader('Retry-After', String(retryAfterSeconds));
      res.status(err.status).json(refusalBody(err));
      return;
    }
    const known = typeof err?.type === 'string' ? BODY_PARSER_ERRORS[err.type] : undefined;
    if (known) {
      // The rest of an oversized upload is not worth reading: end the connection with the answer.
      if (known.status === 413) res.setHeader('Connection', 'close');
      res.status(known.status).json(errorBody(known.code, known.message));
      return;
    }
    if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) {
      res.status(err.status).json(errorBody('BAD_REQUEST', 'The request could not be processed.'));
      return;
    }
    logger.error('unhandled error', { requestId: req.id, err });
    res
      .status(500)
      .json(errorBody('INTERNAL', 'Something went wrong on our side.', { requestId: req.id }));
  };
}
