import { randomUUID } from 'node:crypto';
import { IdempotencyStore } from '../../api/http/idempotency';
import { createRedis, type RedisClient } from '../../shared/redis';
import { testConfig } from '../support/config';

/**
 * The Idempotency-Key lease against the real Redis: a live request keeps its key however long it
 * runs; a request whose process died (no more renewals) loses it within a lease, so the client's
 * retry runs instead of being refused for good.
 */
const config = testConfig();
const SECRET = config.auth.jwtSecret;
const clients: RedisClient[] = [];
const connect = () => {
  const redis = createRedis(config, { maxRetriesPerRequest: 1 });
  clients.push(redis);
  return redis;
};
afterAll(async () => {
  await Promise.all(clients.filter((redis) => redis.status !== 'end').map((redis) => redis.quit()));
});

const scope = () => `post /test ${randomUUID()}`;
const body = { seatIds: ['a', 'b'] };
const answer = { status: 202, body: { orderId: 'first' } };
const never = () => new Promise<never>(() => undefined);

describe('Idempotency-Key lease', () => {
  it("when the request holding a key dies, then the client's retry takes the key over within seconds and runs", async () => {
    const key = randomUUID();
    const where = scope();
    const dying = connect();
    await dying.ping();
    void new IdempotencyStore(dying, SECRET).run(where, key, body, never);
    // Replies come in order on one connection: once this answers, the lease is taken.
    await dying.ping();
    const survivor = connect();
    await expect(
      new IdempotencyStore(survivor, SECRET).run(where, key, { other: true }, never),
    ).rejects.toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    // Then its process goes away: no renewals, no answer.
    dying.disconnect();

    const startedAt = Date.now();
    const retried = await new IdempotencyStore(survivor, SECRET).run(
      where,
      key,
      body,
      async () => answer,
    );
    expect(retried).toEqual(answer);
    // Taken over within one lease (4 s) of the last renewal, well before WAIT_FOR_FIRST runs out.
    expect(Date.now() - startedAt).toBeLessThan(6_000);
    const replay = await new IdempotencyStore(survivor, SECRET).run(where, key, body, never);
    expect(replay).toMatchObject({ ...answer, headers: { 'Idempotent-Replayed': 'true' } });
  });

  it('when the request holding a key is alive but slow, then a retry is told IDEMPOTENCY_KEY_IN_USE with Retry-After, and the key is not taken over', async () => {
    const key = randomUUID();
    const where = scope();
    let finish!: (value: typeof answer) => void;
    const slow = new Promise<typeof answer>((resolve) => (finish = resolve));
    const instance = connect();
    await instance.ping();
    const first = new IdempotencyStore(instance, SECRET).run(where, key, body, () => slow);
    await instance.ping();

    const retry = await new IdempotencyStore(connect(), SECRET).run(where, key, body, never);
    expect(retry.status).toBe(409);
    expect(retry.body).toMatchObject({ error: { code: 'IDEMPOTENCY_KEY_IN_USE' } });
    expect(Number(retry.headers?.['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(Number(retry.headers?.['Retry-After'])).toBeLessThanOrEqual(4);

    finish(answer);
    expect(await first).toEqual(answer);
    const replay = await new IdempotencyStore(connect(), SECRET).run(where, key, body, never);
    expect(replay).toMatchObject({ ...answer, headers: { 'Idempotent-Replayed': 'true' } });
  });
});
