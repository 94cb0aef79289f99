import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { runWithLogContext, type Logger } from '../../shared/logger';
import { httpRequestDuration } from '../../shared/metrics';

const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
  }
}

/**
 * Gives the request an id (the caller's `X-Request-Id` when it is sane, a UUID otherwise),
 * echoes it back, and logs one access line when the response is done.
 */
export function requestId(logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    req.id = incoming && ACCEPTABLE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const line = {
        requestId: req.id,
        method: req.method,
        path: req.originalUrl.split('?')[0],
        status: res.statusCode,
        durationMs: Math.round(durationMs * 10) / 10,
      };
      if (res.statusCode >= 500) logger.error('request failed', line);
      // Checked first: winston would format the line before dropping it.
      else if (logger.isInfoEnabled()) logger.info('request', line);
      // The route template, not the path: one series per route, whatever the ids in it.
      const route = req.route?.path
        ? `${req.baseUrl}${req.route.path}`
        : req.baseUrl || 'unmatched';
      httpRequestDuration.observe(
        { method: req.method, route, status: String(res.statusCode) },
        durationMs / 1000,
      );
    });
    next();
  };
}

/**
 * Binds the request id to everything logged while the request is handled. Mounted after the
 * body parser: stream callbacks would otherwise run outside the request's async context.
 */
export const logContext: RequestHandler = (req, _res, next) =>
  runWithLogContext({ requestId: req.id }, next);
