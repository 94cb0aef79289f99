import { createHash, createHmac, hkdfSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { AppError, errorBody, refusalBody } from '../../shared/errors';
import { seal, sealingKey, unseal } from '../../shared/sealed';
import type { RouteResult } from './route-result';
import type { RedisClient } from '../../shared/redis';

const REPLAY_TTL_SECONDS = 24 * 60 * 60;
/**
 * A running request holds its key for this long after its last renewal. It renews while it runs,
 * so only a request whose process died loses it: a client retrying after its API instance died
 * runs again (and gets the first attempt's effect, see request-payment.ts) within a lease.
 */
const LEASE_MS = 4_000;
const RENEW_EVERY_MS = 1_000;
/** A retry waits this long for the first request's answer: longer than a lease, so a dead
 * request's key is taken over within one call. */
const WAIT_FOR_FIRST_MS = LEASE_MS + 2_000;
const POLL_MS = 20;

const renewLeaseLua = readFileSync(
  path.join(__dirname, '..', '..', 'shared', 'idempotency', 'renew-lease.lua'),
  'utf8',
);

interface Record {
  fingerprint: string;
  state: 'running' | 'done';
  /** While running: who holds the lease, so only they renew it. */
  lease?: string;
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
 * waits for its answer, or takes the key over if the first one's process died (its lease ended);
 * one that waits too long gets 409 IDEMPOTENCY_KEY_IN_USE with Retry-After. Answers are stored AES-GCM encrypted under a key derived from the
 * Idempotency-Key itself, which is only stored hashed: Redis alone cannot reveal them.
 */
/**
 * What of a body is compared between a request and its retry: all of it but card data, of which
 * only the last four digits count (the fingerprint must hold no card data, hashed or not).
 */
function comparableBody(body: unknown): unknown {
  if (!body || typeof body !== 'object' || !('card' in body)) return body;
  const { card, ...rest } = body as { card: unknown };
  const number = (card as { number?: unknown } | null)?.number;
  return { ...rest, card: { last4: typeof number === 'string' ? number.slice(-4) : null } };
}

export class IdempotencyStore {
  /** Keys the body fingerprints, so a copy of Redis cannot test guesses against them. */
  private readonly fingerprintKey: Buffer;

  constructor(
    private readonly redis: RedisClient,
    serverSecret: string,
  ) {
    this.fingerprintKey = Buffer.from(
      hkdfSync('sha256', serverSecret, 'cine', 'idempotency-fingerprint', 32),
    );
    if (!('renewIdempotencyLease' in redis))
      redis.defineCommand('renewIdempotencyLease', { numberOfKeys: 1, lua: renewLeaseLua });
  }

  async run(
    scope: string,
    idempotencyKey: string,
    body: unknown,
    execute: () => Promise<RouteResult>,
  ): Promise<RouteResult> {
    const redisKey = `idem:${sha256(`${scope}\n${idempotencyKey}`)}`;
    const fingerprint = createHmac('sha256', this.fingerprintKey)
      .update(`${scope}\n${canonicalJson(comparableBody(body ?? null))}`)
      .digest('hex');
    const cipherKey = sealingKey(idempotencyKey, scope, 'idempotent-answer');
    const deadline = Date.now() + WAIT_FOR_FIRST_MS;
    for (;;) {
      const lease = JSON.stringify({
        fingerprint,
        state: 'running',
        lease: randomUUID(),
      } satisfies Record);
      if (await this.redis.set(redisKey, lease, 'PX', LEASE_MS, 'NX')) {
        return this.runHoldingLease(redisKey, lease, fingerprint, cipherKey, execute);
      }
      const raw = await this.redis.get(redisKey);
      // The lease ended between the two calls: try to take it.
      if (!raw) continue;
      const record = JSON.parse(raw) as Record;
      if (record.fingerprint !== fingerprint) {
        throw new AppError(
          422,
          'IDEMPOTENCY_KEY_REUSED',
          'This Idempotency-Key was used with a different request.',
        );
      }
      if (record.state === 'done' && record.answer) {
        const result = JSON.parse(unseal(cipherKey, record.answer)) as RouteResult;
        return { ...result, headers: { ...result.headers, 'Idempotent-Replayed': 'true' } };
      }
      if (Date.now() > deadline) {
        const retryAfterMs = Math.max(await this.redis.pttl(redisKey), 0);
        return {
          status: 409,
          headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
          body: errorBody(
            'IDEMPOTENCY_KEY_IN_USE',
            'A request with this Idempotency-Key is still being processed; retry shortly.',
          ),
        };
      }
      await delay(POLL_MS);
    }
  }

  private async runHoldingLease(
    redisKey: string,
    lease: string,
    fingerprint: string,
    cipherKey: Buffer,
    execute: () => Promise<RouteResult>,
  ): Promise<RouteResult> {
    const renewer = setInterval(() => {
      (this.redis as unknown as RenewingRedis)
        .renewIdempotencyLease(redisKey, lease, LEASE_MS)
        .catch(() => undefined);
    }, RENEW_EVERY_MS).unref();
    let result: RouteResult;
    try {
      result = await execute();
    } catch (err) {
      if (!(err instanceof AppError)) {
        // Our failure, not an answer: let the client's retry run again.
        await this.redis.del(redisKey);
        throw err;
      }
      result = { status: err.status, body: refusalBody(err) };
    } finally {
      clearInterval(renewer);
    }
    const done: Record = {
      fingerprint,
      state: 'done',
      answer: seal(cipherKey, JSON.stringify(result)),
    };
    await this.redis.set(redisKey, JSON.stringify(done), 'EX', REPLAY_TTL_SECONDS);
    return result;
  }
}

interface RenewingRedis {
  renewIdempotencyLease(key: string, lease: string, leaseMs: number): Promise<number>;
}
