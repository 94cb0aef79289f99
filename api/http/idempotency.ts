import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { AppError } from '../../shared/errors';
import type { RouteResult } from './route';

const REPLAY_TTL_SECONDS = 24 * 60 * 60;
/** How long a request may run before another with its key may take over (it crashed, say). */
const LEASE_SECONDS = 30;
const WAIT_FOR_FIRST_MS = 5_000;
const POLL_MS = 20;

interface Record {
  fingerprint: string;
  state: 'running' | 'done';
  /** The first answer, encrypted: it may hold a hold token, which must not sit readable in Redis. */
  answer?: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** Key order does not change a JSON body's meaning, so it does not change its fingerprint. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * `Idempotency-Key` support (§6): the first request with a key runs; a retry with the same key
 * and body gets the first answer again (for 24 h) without a second effect; the same key with a
 * different body is refused with 422. A retry that arrives while the first is still running
 * waits for its answer. Answers are stored AES-GCM encrypted under a key derived from the
 * Idempotency-Key itself, which is only stored hashed: Redis alone cannot reveal them.
 */
export class IdempotencyStore {
  constructor(private readonly redis: Redis) {}

  async run(
    scope: string,
    idempotencyKey: string,
    body: unknown,
    execute: () => Promise<RouteResult>,
  ): Promise<RouteResult> {
    const redisKey = `idem:${sha256(`${scope}\n${idempotencyKey}`)}`;
    const fingerprint = sha256(`${scope}\n${canonicalJson(body ?? null)}`);
    const cipherKey = Buffer.from(
      hkdfSync('sha256', idempotencyKey, scope, 'idempotent-answer', 32),
    );

    const claimed = await this.redis.set(
      redisKey,
      JSON.stringify({ fingerprint, state: 'running' } satisfies Record),
      'EX',
      LEASE_SECONDS,
      'NX',
    );
    if (!claimed) return this.replay(redisKey, fingerprint, cipherKey);

    let result: RouteResult;
    try {
      result = await execute();
    } catch (err) {
      if (!(err instanceof AppError)) {
        // Our failure, not an answer: let the client's retry run again.
        await this.redis.del(redisKey);
        throw err;
      }
      result = {
        status: err.status,
        body: { error: { code: err.code, message: err.message, ...err.details } },
      };
    }
    const done: Record = {
      fingerprint,
      state: 'done',
      answer: encrypt(cipherKey, JSON.stringify(result)),
    };
    await this.redis.set(redisKey, JSON.stringify(done), 'EX', REPLAY_TTL_SECONDS);
    return result;
  }

  private async replay(
    redisKey: string,
    fingerprint: string,
    cipherKey: Buffer,
  ): Promise<RouteResult> {
    const deadline = Date.now() + WAIT_FOR_FIRST_MS;
    for (;;) {
      const raw = await this.redis.get(redisKey);
      const record = raw ? (JSON.parse(raw) as Record) : undefined;
      if (record && record.fingerprint !== fingerprint) {
        throw new AppError(
          422,
          'IDEMPOTENCY_KEY_REUSED',
          'This Idempotency-Key was used with a different request.',
        );
      }
      if (record?.state === 'done' && record.answer) {
        const result = JSON.parse(decrypt(cipherKey, record.answer)) as RouteResult;
        return { ...result, headers: { ...result.headers, 'Idempotent-Replayed': 'true' } };
      }
      if (!record || Date.now() > deadline) {
        throw new AppError(
          409,
          'IDEMPOTENCY_KEY_IN_USE',
          'A request with this Idempotency-Key is still being processed; retry shortly.',
        );
      }
      await delay(POLL_MS);
    }
  }
}

function encrypt(key: Buffer, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64')).join('.');
}

function decrypt(key: Buffer, sealed: string): string {
  const [iv, tag, data] = sealed.split('.').map((part) => Buffer.from(part, 'base64'));
  const decipher = createDecipheriv('aes-256-gcm', key, iv!);
  decipher.setAuthTag(tag!);
  return Buffer.concat([decipher.update(data!), decipher.final()]).toString('utf8');
}
