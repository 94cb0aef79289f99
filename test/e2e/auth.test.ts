/**
 * §4.6 over real HTTP: who may do what. Buyers sign up and in, tokens are checked strictly,
 * refresh tokens rotate and a reused one revokes its family, logout and a reused refresh token
 * end the family's access tokens on every instance, a family lives at most
 * REFRESH_FAMILY_MAX_SECONDS, a new buyer's first request costs this instance no query, and a
 * second buyer can neither read nor change the first buyer's hold, order or history, not even by
 * guessing ids or keys.
 */
import { createHash, randomBytes, randomUUID, scryptSync } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Express } from 'express';
import request from 'supertest';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '../../shared/auth/access-tokens';
import { revokedFamilyKey } from '../../shared/auth/buyer-accounts';
import { RefreshToken, User } from '../../shared/db/entities';
import { apiInstance, startTestApi, type TestApi } from '../support/api';
import {
  asBuyer,
  asOwnerOf,
  BUYER_PASSWORD,
  signIn,
  signUpBuyer,
  type SignedIn,
} from '../support/buyers';
import { confirmedHold, Dealer, holdSeats, scanKeys, seededCinema } from '../support/cinema';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';
import { waitFor } from '../support/wait';

let api: TestApi;
let redisDb: OwnRedisDb;
let dealer: Dealer;
let first: SignedIn;
let second: SignedIn;

beforeAll(async () => {
  redisDb = await claimRedisDb();
  api = await startTestApi({ REDIS_DB: redisDb.db });
  await redisDb.mark();
  const { big } = await seededCinema(api.app);
  dealer = new Dealer(big.seats);
  const run = randomUUID().slice(0, 8);
  first = await signUpBuyer(api.app, 'Primeira Compradora', `first-${run}@example.com`);
  second = await signUpBuyer(api.app, 'Segundo Comprador', `second-${run}@example.com`);
});
afterAll(async () => {
  await api?.close();
  await redisDb?.release();
});

const http = () => request(api.app);
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const secret = () => new TextEncoder().encode(api.db.config.auth.jwtSecret);
/** A token like ours, with some part changed. */
const mint = (
  claims: { sub?: string; iss?: string; aud?: string; exp?: number },
  key: Uint8Array = secret(),
) =>
  new SignJWT({ fam: randomUUID() })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub ?? first.userId)
    .setIssuer(claims.iss ?? TOKEN_ISSUER)
    .setAudience(claims.aud ?? TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? '5m')
    .sign(key);
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('signing in', () => {
  it('when a buyer signs up and signs in, then they get a bearer access token and a refresh token, and /me is them', async () => {
    const run = randomUUID().slice(0, 8);
    const email = `Nova.${run}@Example.com`;
    await http()
      .post('/api/v1/users')
      .send({ name: 'Nova', email, password: BUYER_PASSWORD })
      .expect(201);
    const res = await http()
      .post('/api/v1/auth/token')
      .send({ email, password: BUYER_PASSWORD })
      .expect(200);
    expect(res.body).toEqual({
      accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      tokenType: 'Bearer',
      expiresIn: 900,
      refreshToken: expect.any(String),
    });
    expect(res.headers['cache-control']).toBe('no-store');
    const me = await http().get('/api/v1/me').set(bearer(res.body.accessToken)).expect(200);
    expect(me.body).toMatchObject({ name: 'Nova', email: email.toLowerCase() });
  });

  it('when the password is wrong or the email unknown, then both get the same 401 INVALID_CREDENTIALS', async () => {
    const [wrongPassword, unknownEmail] = await Promise.all([
      http()
        .post('/api/v1/auth/token')
        .send({ email: 'ana.souza@example.com', password: 'nope-nope-nope' }),
      http()
        .post('/api/v1/auth/token')
        .send({ email: 'nobody@example.com', password: 'nope-nope-nope' }),
    ]);
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    expect(wrongPassword.body).toEqual(unknownEmail.body);
    expect(wrongPassword.body.error.code).toBe('INVALID_CREDENTIALS');
  });

  it('when a password is stored, then only a salted Argon2id hash of it is', async () => {
    const user = await api.db.orm.em.fork().findOneOrFail(User, first.userId);
    expect(user.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[\w+/]+\$[\w+/]+$/);
    expect(user.passwordHash).not.toContain(BUYER_PASSWORD);
  });
});

describe('access tokens', () => {
  it.each([
    ['no Authorization header', async () => ({})],
    ['a malformed header', async () => ({ Authorization: 'Bearer' })],
    ['a token that is not a JWT', async () => bearer('not-a-token')],
    [
      'an expired token',
      async () => bearer(await mint({ exp: Math.floor(Date.now() / 1000) - 5 })),
    ],
    [
      'a token signed with another key',
      async () => bearer(await mint({}, new TextEncoder().encode('x'.repeat(40)))),
    ],
    ['a token of another issuer', async () => bearer(await mint({ iss: 'someone-else' }))],
    ['a token for another audience', async () => bearer(await mint({ aud: 'another-api' }))],
    [
      'an unsigned token (alg: none)',
      async () =>
        bearer(
          `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({
            sub: first.userId,
            fam: randomUUID(),
            iss: TOKEN_ISSUER,
            aud: TOKEN_AUDIENCE,
            iat: Math.floor(Date.now() / 1000),
            exp: Math.floor(Date.now() / 1000) + 300,
          })}.`,
        ),
    ],
  ])(
    'when a buyer route gets %s, then it answers 401 UNAUTHENTICATED with WWW-Authenticate: Bearer',
    async (_what, headers) => {
      const res = await http()
        .get('/api/v1/me')
        .set(await headers());
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    },
  );

  it('when the admin token is presented on a buyer-only route, then it is 403: an operator is not a buyer', async () => {
    expect((await http().get('/api/v1/me').set(api.adminAuth).expect(403)).body.error.code).toBe(
      'FORBIDDEN',
    );
  });

  it('when a token is ours and valid, then a minted copy of it works: the checks above are what refuses the others', async () => {
    await http()
      .get('/api/v1/me')
      .set(bearer(await mint({})))
      .expect(200);
  });
});

describe('refresh tokens', () => {
  it('when a refresh token is used, then it gives a new pair and is used up; presenting it again revokes its whole family', async () => {
    const run = randomUUID().slice(0, 8);
    const email = `rotating-${run}@example.com`;
    await signUpBuyer(api.app, 'Rotação', email);
    const start = await signIn(api.app, email, BUYER_PASSWORD);
    const next = await http()
      .post('/api/v1/auth/refresh')
      .send({ refreshToken: start.refreshToken })
      .expect(200);
    expect(next.body.refreshToken).not.toBe(start.refreshToken);
    await http().get('/api/v1/me').set(bearer(next.body.accessToken)).expect(200);

    const replayed = await http()
      .post('/api/v1/auth/refresh')
      .send({ refreshToken: start.refreshToken })
      .expect(401);
    expect(replayed.body.error.code).toBe('INVALID_REFRESH_TOKEN');
    // The thief's replay ended the family: the legitimate newer token is refused too.
    await http()
      .post('/api/v1/auth/refresh')
      .send({ refreshToken: next.body.refreshToken })
      .expect(401);
    // Another sign-in is another family, unaffected.
    const again = await signIn(api.app, email, BUYER_PASSWORD);
    await http()
      .post('/api/v1/auth/refresh')
      .send({ refreshToken: again.refreshToken })
      .expect(200);
  });

  it('when five refreshes with one token race, then the token counts as presented twice: the family ends, and no pair handed out works', async () => {
    const run = randomUUID().slice(0, 8);
    const email = `racing-${run}@example.com`;
    await signUpBuyer(api.app, 'Corrida', email);
    const { refreshToken } = await signIn(api.app, email, BUYER_PASSWORD);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => http().post('/api/v1/auth/refresh').send({ refreshToken })),
    );
    expect(answers.filter((res) => res.status === 200).length).toBeLessThanOrEqual(1);
    expect(answers.every((res) => res.status === 200 || res.status === 401)).toBe(true);
    for (const pair of answers.filter((res) => res.status === 200).map((res) => res.body)) {
      await http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: pair.refreshToken })
        .expect(401);
      await http().get('/api/v1/me').set(bearer(pair.accessToken)).expect(401);
    }
  });

  it('when a buyer logs out, then their refresh family stops working; other sessions go on', async () => {
    const run = randomUUID().slice(0, 8);
    const email = `leaving-${run}@example.com`;
    await signUpBuyer(api.app, 'Saída', email);
    const laptop = await signIn(api.app, email, BUYER_PASSWORD);
    const phone = await signIn(api.app, email, BUYER_PASSWORD);
    await http().post('/api/v1/auth/logout').expect(401);
    await http().post('/api/v1/auth/logout').set(bearer(laptop.accessToken)).expect(204);
    await http()
      .post('/api/v1/auth/refresh')
      .send({ refreshToken: laptop.refreshToken })
      .expect(401);
    await http()
      .post('/api/v1/auth/refresh')
      .send({ refreshToken: phone.refreshToken })
      .expect(200);
  });

  it('when a refresh token is stored, then only its SHA-256 is', async () => {
    const run = randomUUID().slice(0, 8);
    const email = `stored-${run}@example.com`;
    await signUpBuyer(api.app, 'Guardado', email);
    const { refreshToken } = await signIn(api.app, email, BUYER_PASSWORD);
    const rows: { token_hash: string }[] = await api.db.orm.em
      .getConnection()
      .execute('select token_hash from refresh_tokens');
    const hashes = rows.map((r) => r.token_hash);
    expect(hashes).toContain(createHash('sha256').update(refreshToken).digest('hex'));
    expect(hashes).not.toContain(refreshToken);
  });
});

/** A second API instance on the same database and Redis: another process behind the balancer. */
async function withAnotherInstance(use: (other: Express) => Promise<void>): Promise<void> {
  const other = await apiInstance(api.db);
  try {
    await use(other.app);
  } finally {
    await other.queues.close();
    await other.redis.quit();
  }
}

/** Polls `GET /me` on `app` with `token` until it is refused, for at most a second. */
const refusedWithinASecond = (app: Express, token: string) =>
  waitFor(async () => (await request(app).get('/api/v1/me').set(bearer(token))).status === 401, {
    timeoutMs: 1_000,
    what: 'the access token to be refused',
  });

describe('ending a session ends its access tokens', () => {
  it('when a buyer logs out, then their access token is refused within a second on another API instance, even one that had already verified it; their other sessions go on', async () => {
    const run = randomUUID().slice(0, 8);
    const email = `everywhere-${run}@example.com`;
    await signUpBuyer(api.app, 'Em Todo Lugar', email);
    const laptop = await signIn(api.app, email, BUYER_PASSWORD);
    const phone = await signIn(api.app, email, BUYER_PASSWORD);
    await withAnotherInstance(async (other) => {
      // The other instance knows the token as verified before the logout.
      await request(other).get('/api/v1/me').set(bearer(laptop.accessToken)).expect(200);

      await http().post('/api/v1/auth/logout').set(bearer(laptop.accessToken)).expect(204);

      await refusedWithinASecond(other, laptop.accessToken);
      const refused = await request(other).get('/api/v1/me').set(bearer(laptop.accessToken));
      expect(refused.body.error.code).toBe('UNAUTHENTICATED');
      expect(refused.headers['www-authenticate']).toMatch(/^Bearer/);
      await http().get('/api/v1/me').set(bearer(laptop.accessToken)).expect(401);
      await request(other).get('/api/v1/me').set(bearer(phone.accessToken)).expect(200);
    });
  });

  it('when a used refresh token is presented again, then every access token of its family is refused within a second on another API instance', async () => {
    const run = randomUUID().slice(0, 8);
    const email = `stolen-${run}@example.com`;
    await signUpBuyer(api.app, 'Roubada', email);
    const start = await signIn(api.app, email, BUYER_PASSWORD);
    const next = (
      await http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: start.refreshToken })
        .expect(200)
    ).body as { accessToken: string };
    await withAnotherInstance(async (other) => {
      await request(other).get('/api/v1/me').set(bearer(next.accessToken)).expect(200);

      await http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: start.refreshToken })
        .expect(401);

      await refusedWithinASecond(other, next.accessToken);
      await refusedWithinASecond(other, start.accessToken);
    });
  });
});

describe('a sign-out racing a refresh', () => {
  it('when a sign-out marked the family in Redis but its Postgres update missed the token a concurrent refresh was inserting, then that refresh is refused and its new token is dead too', async () => {
    const run = randomUUID().slice(0, 8);
    const email = `racing-${run}@example.com`;
    await signUpBuyer(api.app, 'Corrida', email);
    const session = await signIn(api.app, email, BUYER_PASSWORD);
    const family = JSON.parse(
      Buffer.from(session.accessToken.split('.')[1]!, 'base64url').toString(),
    ).fam as string;
    // The sign-out's first step (Redis) happened; its second (Postgres) has not reached the
    // refresh token this refresh uses up and replaces.
    await api.redis.set(revokedFamilyKey(family), '1', 'EX', 60);

    const refreshed = await http()
      .post('/api/v1/auth/refresh')
      .send({ refreshToken: session.refreshToken });

    expect(refreshed.status).toBe(401);
    const live = await api.db.orm.em
      .fork()
      .count(RefreshToken, { familyId: family, revokedAt: null, usedAt: null });
    expect(live).toBe(0);
  });
});

describe('refresh family lifetime (REFRESH_FAMILY_MAX_SECONDS)', () => {
  /** Moves a family's sign-in back by `seconds`, as if that much time had passed. */
  const age = (familyStart: Date, seconds: number) =>
    new Date(familyStart.getTime() - seconds * 1000);

  it("when a family is refreshed, then each new token keeps the family's sign-in time; once that is older than the lifetime, a refresh is 401 INVALID_REFRESH_TOKEN", async () => {
    const maxSeconds = api.db.config.auth.refreshFamilyMaxSeconds;
    const run = randomUUID().slice(0, 8);
    const email = `lasting-${run}@example.com`;
    await signUpBuyer(api.app, 'Duradoura', email);
    const start = await signIn(api.app, email, BUYER_PASSWORD);
    const em = api.db.orm.em.fork();
    const signedIn = await em.findOneOrFail(RefreshToken, {
      tokenHash: createHash('sha256').update(start.refreshToken).digest('hex'),
    });
    // Signed in almost a lifetime ago: still good, once.
    const startedAt = age(signedIn.familyStartedAt, maxSeconds - 60);
    await em.nativeUpdate(
      RefreshToken,
      { familyId: signedIn.familyId },
      { familyStartedAt: startedAt },
    );
    const next = (
      await http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: start.refreshToken })
        .expect(200)
    ).body as { refreshToken: string };
    const rotated = await em.fork().findOneOrFail(RefreshToken, {
      tokenHash: createHash('sha256').update(next.refreshToken).digest('hex'),
    });
    expect(rotated.familyStartedAt.getTime()).toBe(startedAt.getTime());

    // A minute and a bit later the family has lived its lifetime, however fresh its last token.
    await em.nativeUpdate(
      RefreshToken,
      { familyId: signedIn.familyId },
      { familyStartedAt: age(startedAt, 61) },
    );
    const refused = await http()
      .post('/api/v1/auth/refresh')
      .send({ refreshToken: next.refreshToken })
      .expect(401);
    expect(refused.body.error.code).toBe('INVALID_REFRESH_TOKEN');
  });
});

describe('passwords stored by the first release', () => {
  it('when a buyer whose password is stored as a scrypt hash signs in, then it works and the stored hash becomes Argon2id', async () => {
    const run = randomUUID().slice(0, 8);
    const email = `veteran-${run}@example.com`;
    const { userId } = await signUpBuyer(api.app, 'Veterana', email);
    const salt = randomBytes(16);
    const key = scryptSync(BUYER_PASSWORD, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 << 20 });
    const scryptHash = [
      'scrypt',
      2 ** 15,
      8,
      1,
      salt.toString('base64'),
      key.toString('base64'),
    ].join('$');
    await api.db.orm.em.fork().nativeUpdate(User, { id: userId }, { passwordHash: scryptHash });

    await http()
      .post('/api/v1/auth/token')
      .send({ email, password: 'not-the-password' })
      .expect(401);
    const stillOld = await api.db.orm.em.fork().findOneOrFail(User, userId);
    expect(stillOld.passwordHash).toBe(scryptHash);

    await signIn(api.app, email, BUYER_PASSWORD);
    const upgraded = await api.db.orm.em.fork().findOneOrFail(User, userId);
    expect(upgraded.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await signIn(api.app, email, BUYER_PASSWORD);
  });
});

describe("a new buyer's first request", () => {
  it('when a buyer who signed up and in on another instance makes their first hold here, then this instance asks Postgres nothing', async () => {
    const run = randomUUID().slice(0, 8);
    const email = `newcomer-${run}@example.com`;
    let newcomer!: SignedIn;
    await withAnotherInstance(async (other) => {
      newcomer = await signUpBuyer(other, 'Recém-chegada', email);
    });
    // This instance has served the session before: its seats and layout are known here.
    await holdSeats(api.app, second.userId, dealer.freshSeats(1));

    const execute = jest.spyOn(api.db.orm.em.getConnection(), 'execute');
    try {
      await http()
        .post('/api/v1/holds')
        .set(bearer(newcomer.accessToken))
        .send({ seatIds: dealer.freshSeats(1) })
        .expect(201);
      expect(execute).not.toHaveBeenCalled();
    } finally {
      execute.mockRestore();
    }
  });
});

describe("another buyer's hold, order and history", () => {
  it("when a second buyer has the first buyer's hold id and even its token, then reading, confirming, releasing and paying it are all 403, and the hold is untouched", async () => {
    const hold = await holdSeats(api.app, first.userId, dealer.freshSeats(1));
    const asIntruder = { ...asOwnerOf(hold), ...asBuyer(second.userId) };
    const path = `/api/v1/holds/${hold.holdId}`;
    await http().get(path).set(asIntruder).expect(403);
    await http().post(`${path}/confirm`).set(asIntruder).expect(403);
    await http().delete(path).set(asIntruder).expect(403);
    await http().post(`${path}/payment`).set(asIntruder).send({ method: 'pix' }).expect(403);

    const read = await http().get(path).set(asOwnerOf(hold)).expect(200);
    expect(read.body.stage).toBe('held');
    await http().post(`${path}/confirm`).set(asOwnerOf(hold)).expect(200);
  });

  it("when a second buyer asks for the first buyer's order or history, then it is 404 (ids leak nothing); the buyer and an admin see it", async () => {
    const hold = await confirmedHold(api.app, first.userId, dealer.freshSeats(1));
    const { orderId } = (
      await http()
        .post(`/api/v1/holds/${hold.holdId}/payment`)
        .set(asOwnerOf(hold))
        .send({ method: 'pix' })
        .expect(202)
    ).body;

    const intruder = await http()
      .get(`/api/v1/orders/${orderId}`)
      .set(asBuyer(second.userId))
      .expect(404);
    const unknown = await http()
      .get(`/api/v1/orders/${randomUUID()}`)
      .set(asBuyer(second.userId))
      .expect(404);
    expect(intruder.body.error.code).toBe(unknown.body.error.code);
    expect(JSON.stringify(intruder.body)).not.toContain(first.userId);
    await http().get(`/api/v1/orders/${orderId}`).expect(401);
    const own = await http()
      .get(`/api/v1/orders/${orderId}`)
      .set(asBuyer(first.userId))
      .expect(200);
    expect(own.body).toMatchObject({ orderId, userId: first.userId });
    await http().get(`/api/v1/orders/${orderId}`).set(api.adminAuth).expect(200);

    await http()
      .get(`/api/v1/users/${first.userId}/orders`)
      .set(asBuyer(second.userId))
      .expect(404);
    await http().get(`/api/v1/users/${first.userId}/orders`).set(asBuyer(first.userId)).expect(200);
    await http().get(`/api/v1/users/${first.userId}/orders`).set(api.adminAuth).expect(200);
    const theirs = await http().get('/api/v1/me/orders').set(asBuyer(second.userId)).expect(200);
    expect(theirs.body.items.map((o: { orderId: string }) => o.orderId)).not.toContain(orderId);
  });

  it("when a second buyer reuses the first buyer's Idempotency-Key and body, then they never get the first buyer's stored answer", async () => {
    const key = randomUUID();
    const seatIds = dealer.freshSeats(1);
    const mine = await http()
      .post('/api/v1/holds')
      .set({ ...asBuyer(first.userId), 'Idempotency-Key': key })
      .send({ seatIds })
      .expect(201);
    const theirs = await http()
      .post('/api/v1/holds')
      .set({ ...asBuyer(second.userId), 'Idempotency-Key': key })
      .send({ seatIds });
    expect(theirs.status).toBe(409);
    expect(theirs.body.error.code).toBe('SEAT_UNAVAILABLE');
    expect(JSON.stringify(theirs.body)).not.toContain(mine.body.holdToken);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
  });

  it('when a card payment is made with an Idempotency-Key, then what Redis keeps to compare bodies holds no card data, hashed or not', async () => {
    const hold = await confirmedHold(api.app, first.userId, dealer.freshSeats(1));
    const number = '4111111111111111';
    await http()
      .post(`/api/v1/holds/${hold.holdId}/payment`)
      .set({ ...asOwnerOf(hold), 'Idempotency-Key': randomUUID() })
      .send({
        method: 'credit_card',
        card: { number, holderName: 'Ana Souza', expMonth: 12, expYear: 2031, cvv: '123' },
      })
      .expect(202);
    const stored = await Promise.all(
      (await scanKeys(api.redis, 'idem:*')).map((key) => api.redis.get(key)),
    );
    const sha = (value: string) => createHash('sha256').update(value).digest('hex');
    for (const record of stored) {
      for (const secretValue of [number, '"123"', sha(number), sha('123')])
        expect(record).not.toContain(secretValue);
    }
  });
});

describe('deployment switches', () => {
  it('when SEED_ROUTES is off (the production default), then the seed routes answer 404', async () => {
    const off = await apiInstance({ ...api.db, config: { ...api.db.config, seedRoutes: false } });
    try {
      await request(off.app).get('/seed/users').expect(404);
      await request(off.app)
        .post('/reserva/assento')
        .send({ usuario_id: first.userId, assento_id: dealer.freshSeats(1)[0] })
        .expect(404);
      await request(api.app).get('/seed/users').expect(200);
    } finally {
      await off.queues.close();
      await off.redis.quit();
    }
  });

  it('when any response is sent, then it carries the usual security headers', async () => {
    const res = await http().get('/api/v1/movies').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});
