import type { Request, RequestHandler, Response, Router } from 'express';
import type Joi from 'joi';
import { AppError } from '../../shared/errors';
import type { Caller, RouteAccess } from '../middleware/caller-auth';
import type { IdempotencyStore } from './idempotency';
import type { RouteResult } from './route-result';

export interface RouteInput<P = Record<string, string>, Q = Record<string, unknown>, B = unknown> {
  params: P;
  query: Q;
  body: B;
  headers: Record<string, string | undefined>;
  /** Who is calling, on routes that declare `auth`. */
  caller?: Caller;
  req: Request;
}

/**
 * One HTTP route, declared once: its validation schemas drive both the request check and the
 * OpenAPI document (api/http/openapi.ts), so the docs cannot drift from what the code accepts.
 */
export interface RouteSpec {
  method: 'get' | 'post' | 'delete';
  path: string;
  tag: string;
  summary: string;
  /**
   * Who may call it (api/middleware/caller-auth.ts): `admin` needs `Bearer $ADMIN_TOKEN`, `buyer`
   * a buyer's access token, `buyer-or-admin` either. Without it the route is public.
   */
  auth?: RouteAccess;
  /** Honours an `Idempotency-Key` header: a retry replays the first answer (api/http/idempotency.ts). */
  idempotent?: boolean;
  /** Extra middleware run before validation (rate limits). */
  before?: RequestHandler[];
  params?: Joi.ObjectSchema;
  query?: Joi.ObjectSchema;
  headers?: Joi.ObjectSchema;
  body?: Joi.Schema;
  responses: Record<number, { description: string; schema?: Joi.Schema }>;
  // Each route narrows its own input types; the schemas above are what guarantee them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handler: (input: RouteInput<any, any, any>) => Promise<RouteResult>;
}

const VALIDATION_OPTIONS: Joi.ValidationOptions = {
  abortEarly: false,
  convert: true,
  stripUnknown: false,
};

type Part = 'params' | 'query' | 'headers' | 'body';

/** The most offending fields one 400 VALIDATION_FAILED lists (§4). */
export const MAX_LISTED_FIELDS = 20;
/**
 * The most object keys a request part may carry (nested ones included) before it is refused
 * whole, unread by Joi: no route takes more than a dozen, and Joi, asked for every error, would
 * build one per unknown key.
 */
export const MAX_KEYS = 100;

/**
 * Whether `value` holds more than `max` object keys, nested ones included. Walked without
 * recursion (a 64 KB body can nest thousands deep) and left as soon as the count passes `max`.
 */
function hasMoreKeysThan(value: unknown, max: number): boolean {
  const pending: unknown[] = [value];
  let keys = 0;
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next !== 'object' || next === null) continue;
    const children = Array.isArray(next) ? next : Object.values(next);
    if (!Array.isArray(next)) keys += children.length;
    if (keys > max) return true;
    pending.push(...children);
  }
  return false;
}

/**
 * The headers a route declares, picked from the request's: a request carries many more (host,
 * user agent, accept, …), which the route never reads and Joi would otherwise walk and copy.
 */
function declaredHeaders(schema: Joi.ObjectSchema): (req: Request) => Record<string, unknown> {
  const names = Object.keys(schema.describe().keys ?? {});
  return (req) => {
    const picked: Record<string, unknown> = {};
    for (const name of names) if (req.headers[name] !== undefined) picked[name] = req.headers[name];
    return picked;
  };
}

function validator(spec: RouteSpec) {
  const headersOf = spec.headers ? declaredHeaders(spec.headers) : undefined;
  const inputs: Record<Part, (req: Request) => unknown> = {
    params: (req) => req.params,
    query: (req) => req.query,
    headers: (req) => headersOf?.(req),
    body: (req) => req.body ?? {},
  };
  return (req: Request) => validate(spec, req, inputs);
}

function validate(spec: RouteSpec, req: Request, inputs: Record<Part, (req: Request) => unknown>) {
  const fields: { field: string; message: string }[] = [];
  const values: Partial<Record<Part, unknown>> = {};
  for (const part of ['params', 'query', 'headers', 'body'] as const) {
    const schema = spec[part];
    if (!schema) continue;
    const input = inputs[part](req);
    if (hasMoreKeysThan(input, MAX_KEYS)) {
      fields.push({ field: part, message: `"${part}" must not have more than ${MAX_KEYS} keys` });
      continue;
    }
    const { value, error } = schema.validate(input, VALIDATION_OPTIONS);
    if (error) {
      for (const d of error.details) {
        fields.push({ field: [part, ...d.path].join('.'), message: d.message });
      }
    }
    values[part] = value;
  }
  if (fields.length > 0) {
    throw new AppError(400, 'VALIDATION_FAILED', 'The request is not valid.', {
      fields: fields.slice(0, MAX_LISTED_FIELDS),
      ...(fields.length > MAX_LISTED_FIELDS
        ? { fieldsNotListed: fields.length - MAX_LISTED_FIELDS }
        : {}),
    });
  }
  return values;
}

export function toHandler(spec: RouteSpec, idempotency?: IdempotencyStore): RequestHandler {
  const validate = validator(spec);
  return async (req: Request, res: Response) => {
    const values = validate(req);
    const run = () =>
      spec.handler({
        params: (values.params ?? req.params) as Record<string, string>,
        query: (values.query ?? {}) as Record<string, unknown>,
        body: values.body,
        headers: (values.headers ?? {}) as Record<string, string | undefined>,
        caller: req.caller,
        req,
      });
    const key = req.get('idempotency-key');
    const result =
      spec.idempotent && idempotency && key !== undefined
        ? await idempotency.run(
            idempotencyScope(spec, values.params, req.caller),
            key,
            req.body,
            run,
          )
        : await run();
    if (result.streamed) return;
    for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
    if (result.json) {
      res.status(result.status).set('Content-Type', 'application/json; charset=utf-8');
      res.send(result.json);
    } else if (result.body === undefined) res.status(result.status).end();
    else res.status(result.status).json(result.body);
  };
}

/**
 * What an Idempotency-Key is unique within: the caller (another caller's key never replays this
 * one's answer), the declared route and its (validated, canonical) parameters, so that
 * `/API/v1/holds/` and `/api/v1/holds` are one scope, as Express routes them.
 */
const idempotencyScope = (spec: RouteSpec, params: unknown, caller: Caller | undefined) => {
  const who = caller?.kind === 'buyer' ? `buyer:${caller.userId}` : (caller?.kind ?? 'anyone');
  return `${who} ${spec.method} ${spec.path} ${JSON.stringify(params ?? {})}`;
};

export function mountRoutes(
  router: Router,
  routes: RouteSpec[],
  options: {
    adminAuth: RequestHandler;
    callerAuth: (access: Exclude<RouteAccess, 'admin'>) => RequestHandler;
    idempotency: IdempotencyStore;
  },
): void {
  const authFor = (access: RouteAccess) =>
    access === 'admin' ? options.adminAuth : options.callerAuth(access);
  for (const spec of routes) {
    router[spec.method](
      spec.path,
      ...(spec.auth ? [authFor(spec.auth)] : []),
      ...(spec.before ?? []),
      toHandler(spec, options.idempotency),
    );
  }
}
