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

/** Keys whose values must never reach a log line, wherever they are nested. */
const SECRET_KEYS = new Set([
  'authorization',
  'password',
  'cvv',
  'card',
  'cardnumber',
  'holdtoken',
  'x-hold-token',
  'token',
  'admintoken',
]);

export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  // Past this depth nothing is inspected, so nothing is shown: a secret cannot hide down there.
  if (depth > 6) return '[redacted]';
  if (value instanceof Error)
    return { name: value.name, message: value.message, stack: value.stack };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEYS.has(key.toLowerCase()) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

const withContextAndRedaction = winston.format((info) => {
  const context = contextStore.getStore();
  const safe = redact({ ...context, ...info }) as winston.Logform.TransformableInfo;
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
      winston.format.errors({ stack: true }),
      withContextAndRedaction(),
      winston.format.json(),
    ),
    transports: [new winston.transports.Console()],
  });
}
