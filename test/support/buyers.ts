import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { accessTokens as accessTokenSigner } from '../../shared/auth/access-tokens';
import type { Config } from '../../shared/config';
import { User } from '../../shared/db/entities';
import type { Orm } from '../../shared/db/orm';
import { testConfig } from './config';
import type { Target } from './cinema';

/** The password the seeded demo users sign in with in tests (DEMO_USER_PASSWORD's default). */
export const DEMO_PASSWORD = testConfig().auth.demoUserPassword!;
/** A password for buyers a test signs up. */
export const BUYER_PASSWORD = 'a-buyer-password-123';

export interface SignedIn {
  userId: string;
  name: string;
  accessToken: string;
  refreshToken: string;
}

/** Access tokens of the buyers this test file has signed in, by user id. */
const accessTokens = new Map<string, string>();

/** POST /api/v1/auth/token, expecting 200; the buyer's token is remembered for `asBuyer`. */
export async function signIn(app: Target, email: string, password: string): Promise<SignedIn> {
  const tokens = (
    await request(app).post('/api/v1/auth/token').send({ email, password }).expect(200)
  ).body as { accessToken: string; refreshToken: string };
  const me = (
    await request(app).get('/api/v1/me').set('Authorization', `Bearer ${tokens.accessToken}`)
  ).body as { id: string; name: string };
  accessTokens.set(me.id, tokens.accessToken);
  return { userId: me.id, name: me.name, ...tokens };
}

/** Signs a new buyer up and in; their token is remembered for `asBuyer`. */
export async function signUpBuyer(
  app: Target,
  name: string,
  email: string,
  password = BUYER_PASSWORD,
): Promise<SignedIn> {
  await request(app).post('/api/v1/users').send({ name, email, password }).expect(201);
  return signIn(app, email, password);
}

/** The Authorization header of a buyer signed in earlier in this file. */
export function asBuyer(userId: string): { Authorization: string } {
  const token = accessTokens.get(userId);
  if (!token) throw new Error(`user ${userId} was not signed in by this test file`);
  return { Authorization: `Bearer ${token}` };
}

/** What acting on a hold takes: its owner's bearer token and the hold's own token. */
export const asOwnerOf = (hold: { userId: string; holdToken: string }) => ({
  ...asBuyer(hold.userId),
  'X-Hold-Token': hold.holdToken,
});

/**
 * `count` buyers written straight into the test database, each with an access token minted by
 * the API's own signing code: for tests that need hundreds of buyers to race for seats, where
 * signing each up and in (a deliberately slow password hash apiece) would be the whole test.
 * Sign-up and sign-in themselves are tested over HTTP in test/e2e/auth.test.ts.
 */
export async function insertBuyers(
  db: { orm: Orm; config: Config },
  count: number,
  label = 'Buyer',
): Promise<string[]> {
  const run = randomUUID().slice(0, 8);
  const ids = Array.from({ length: count }, () => randomUUID());
  await db.orm.em.fork().insertMany(
    User,
    ids.map((id, i) => ({
      id,
      name: `${label} ${i}`,
      email: `${label.toLowerCase().replace(/\W/g, '')}-${run}-${i}@example.com`,
      birthDate: null,
      passwordHash: null,
      createdAt: new Date(),
    })),
  );
  const tokens = accessTokenSigner(db.config.auth);
  for (const id of ids) {
    accessTokens.set(id, (await tokens.issue({ sub: id, fam: randomUUID() })).token);
  }
  return ids;
}

/** A card the simulated gateway judges by number: 4000000000000002 is declined, others approved. */
export const testCard = (number: string) => ({
  number,
  holderName: 'Ana Souza',
  expMonth: 12,
  expYear: 2031,
  cvv: '123',
});
