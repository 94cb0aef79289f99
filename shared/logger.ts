import { AsyncLocalStorage } from 'node:async_hooks';
import winston from 'winston';

/**
 * Correlation fields (request id in the API, job / message id in workers) carried through the
 * async call chain, so every line logged while serving one unit of work names it without the
 * id being passed by hand to every function.
 */
export type LogContext = Record<string, string>;
const contextStore = new AsyncLocalStorage<LogContext>();

export function runWithLogContext<T>(context: LogContext, fn: () => T): T {
  return contextStore.run({ ...contextStore.getStore(), ...context }, fn);
}

/**
 * Keys whose values must never reach a log line, wherever they are nested: credentials, card
 * data, capabilities (a hold token lets its bearer pay for the hold), personal data, and the
 * fields database drivers fill with a statement or the values bound to it (pg's `detail` reads
 * "Key (email)=(ana@example.com) already exists").
 */
const SECRET_KEYS = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'password',
  'passwordhash',
  'cvv',
  'card',
  'cardnumber',
  'holdtoken',
  'x-hold-token',
  'token',
  'accesstoken',
  'refreshtoken',
  'entrytoken',
  'admintoken',
  'metricstoken',
  'jwtsecret',
  'email',
  'sql',
  'query',
  'internalquery',
  'parameters',
  'params',
  'bindings',
  'detail',
  'where',
  'sqlmessage',
  'errmsg',
]);

/**
 * A statement, up to the " - " that separates it from the server's own words: knex and
 * MikroORM prefix Postgres errors with the SQL and its inlined values, and winston appends an
 * error's message to the line's when an Error is passed as meta. The " - detail:" line
 * MikroORM appends repeats the values. Found by index rather than by one regex over the whole
 * text, so a long line costs linear time whatever it holds.
 */
const STATEMENT_START = /(^|\s)(?:select|insert\s+into|update|delete\s+from|with)\s/i;
const SQL_SHAPE = /\s(?:from|into|set|values|as)\s/i;
const STACK_START = '\n    at ';
const DETAIL_LINE = /\n? - detail: .*$/m;
/** Where Postgres quotes a value rather than a name: `invalid input syntax for type uuid: "x"`. */
const QUOTED_VALUE = /: "[^"]*"/g;

function cutStatement(message: string): string {
  const start = STATEMENT_START.exec(message);
  if (!start) return message;
  const from = start.index + start[1]!.length;
  const stack = message.indexOf(STACK_START, from);
  const separator = message.lastIndexOf(' - ', stack < 0 ? message.length : stack);
  if (separator <= from || !SQL_SHAPE.test(message.slice(from, separator + 1))) return message;
  return message.slice(0, from) + message.slice(separator + 3);
}

/** The message without an SQL statement, its values, or a value Postgres quotes back. */
export function withoutStatement(message: string): string {
  return cutStatement(message.replace(DETAIL_LINE, '')).replace(QUOTED_VALUE, ': "[redacted]"');
}

/** Names an error may carry that help an operator and hold no value of a row. */
const SAFE_ERROR_FIELDS = ['code', 'constraint', 'table', 'column', 'schema', 'routine'] as const;

/**
 * An error as a log line may show it: class, Postgres SQLSTATE and the names of what it hit,
 * a message and stack without SQL text or values, and its cause the same way. Any other
 * field is left out, as drivers copy the statement and its values into several of them.
 */
function safeError(error: Error, depth: number): Record<string, unknown> {
  const message = withoutStatement(error.message);
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  const out: Record<string, unknown> = {
    name: error.name,
    message,
    stack: [`${error.name}: ${message}`, ...frames].join('\n'),
  };
  const fields = error as unknown as Record<string, unknown>;
  for (const field of SAFE_ERROR_FIELDS) {
    if (typeof fields[field] === 'string' || typeof fields[field] === 'number')
      out[field] = fields[field];
  }
  if (error.cause !== undefined) out.cause = redact(error.cause, depth + 1);
  return out;
}

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return withoutStatement(value);
  if (value === null || typeof value !== 'object') return value;
  // Past this depth nothing is inspected, so nothing is shown: a secret cannot hide down there.
  if (depth > 6) return '[redacted]';
  if (value instanceof Error) return safeError(value, depth);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEYS.has(key.toLowerCase()) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

/**
 * `logger.error(err)` hands winston the Error itself as the line, and `logger.error('…', err)`
 * has winston merge the error's fields and message into the line: either way the message and
 * stack are made safe and the fields drivers fill with the statement and values are dropped.
 */
const withContextAndRedaction = winston.format((info) => {
  const context = contextStore.getStore();
  // winston adds the logger's default and child metadata (service, worker) to the Error itself.
  const fields = info instanceof Error ? { ...info, ...safeError(info, 0) } : { ...info };
  const safe = redact({ ...context, ...fields }) as winston.Logform.TransformableInfo;
  // winston keeps level/message under symbols too; copy them so the JSON formatter sees them.
  for (const sym of Object.getOwnPropertySymbols(info)) {
    (safe as unknown as Record<symbol, unknown>)[sym] = (
      info as unknown as Record<symbol, unknown>
    )[sym];
  }
  return safe;
});

export type Logger = winston.Logger;

export function createLogger(options: {
  level: string;
  service: string;
  silent?: boolean;
}): Logger {
  return winston.createLogger({
    level: options.level,
    silent: options.silent,
    defaultMeta: { service: options.service },
    format: winston.format.combine(
      winston.format.timestamp(),
      withContextAndRedaction(),
      winston.format.json(),
    ),
    transports: [new winston.transports.Console()],
  });
}
