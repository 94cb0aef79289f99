import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { RefreshToken, User } from '../db/entities';
import type { Orm } from '../db/orm';
import { AppError, notFound } from '../errors';
import type { RedisClient } from '../redis';
import { accessTokens, type AccessClaims, type AccessTokens } from './access-tokens';
import { HashingQueue } from './hashing-queue';
import { hashPassword, needsRehash, verifyPassword } from './passwords';

export interface UserView {
  id: string;
  name: string;
  email: string;
}

export interface TokenPair {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds the access token is valid for. */
  expiresIn: number;
  refreshToken: string;
}

const invalidCredentials = () =>
  new AppError(401, 'INVALID_CREDENTIALS', 'The email or the password is not right.');
const invalidRefreshToken = () =>
  new AppError(401, 'INVALID_REFRESH_TOKEN', 'This refresh token is not valid; sign in again.');

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** Marks a family whose access tokens must stop working before their `exp`, on every instance. */
export const revokedFamilyKey = (familyId: string) => `revoked-family:${familyId}`;
/**
 * How much longer than an access token's lifetime a revoked-family record is kept: covers a token
 * issued by a refresh that raced the revocation, and clocks a little apart between instances.
 */
const REVOCATION_MARGIN_SECONDS = 60;

/**
 * Buyers' accounts: sign up, sign in with email and password,
 * rotate refresh tokens, sign out. Each sign-in starts a refresh-token family, which ends
 * REFRESH_FAMILY_MAX_SECONDS later however often it is refreshed; every refresh uses its token up
 * and issues the next of the family; a used token presented again revokes the whole family
 * (whoever holds either copy must sign in again). Refresh tokens live in Postgres, only as their
 * SHA-256. A revoked family is also marked in Redis for as long as its access tokens could live,
 * so they stop working at once on every API instance.
 */
export class BuyerAccounts {
  readonly tokens: AccessTokens;
  private readonly hashing: HashingQueue;

  constructor(
    private readonly orm: Orm,
    private readonly redis: RedisClient,
    private readonly settings: Config['auth'],
    hashing: Config['passwordHashing'],
  ) {
    this.tokens = accessTokens(settings);
    this.hashing = new HashingQueue(hashing);
  }

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  /** Users by name, a page at a time (admin only: a user list is personal data). */
  async listUsers(page = 1, pageSize = 100): Promise<{ items: UserView[]; total: number }> {
    const [users, total] = await this.em().findAndCount(
      User,
      {},
      {
        fields: ['id', 'name', 'email'],
        orderBy: { name: 'asc', id: 'asc' },
        limit: pageSize,
        offset: (page - 1) * pageSize,
      },
    );
    return { items: users.map(({ id, name, email }) => ({ id, name, email })), total };
  }

  async user(userId: string): Promise<UserView> {
    const user = await this.em().findOne(User, userId, { fields: ['id', 'name', 'email'] });
    if (!user) throw notFound('user', userId);
    return { id: user.id, name: user.name, email: user.email };
  }

  /** "Sign up": a buyer account; the password is kept only as a slow salted hash. */
  async signUp(input: {
    name: string;
    email: string;
    password: string;
    birthDate?: string;
  }): Promise<UserView> {
    const passwordHash = await this.hashing.run(() => hashPassword(input.password));
    const em = this.em();
    const user = em.create(User, {
      name: input.name,
      email: input.email.toLowerCase(),
      birthDate: input.birthDate ?? null,
      passwordHash,
    });
    try {
      await em.flush();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) {
        throw new AppError(409, 'EMAIL_TAKEN', 'An account with this email already exists.', {
          email: user.email,
        });
      }
      throw err;
    }
    return { id: user.id, name: user.name, email: user.email };
  }

  /**
   * "Sign in": the same 401, in about the same time, for an unknown email and a wrong password.
   * The hashing turn is taken before the account is looked up, so a sign-in refused for a full
   * queue costs no database work either. A hash of an older scheme is replaced on success.
   */
  async signIn(email: string, password: string): Promise<TokenPair> {
    const userId = await this.hashing.run(async () => {
      const user = await this.em().findOne(
        User,
        { email: email.toLowerCase() },
        { fields: ['id', 'passwordHash'] },
      );
      const stored = user?.passwordHash ?? null;
      if (!(await verifyPassword(password, stored)) || !user || !stored) return null;
      if (needsRehash(stored)) await this.upgradeHash(user.id, stored, password);
      return user.id;
    });
    if (!userId) throw invalidCredentials();
    return this.issue(userId, randomUUID(), new Date());
  }

  /** Only if the hash is still the one checked: a password changed meanwhile is not undone. */
  private async upgradeHash(userId: string, stored: string, password: string): Promise<void> {
    await this.em().nativeUpdate(
      User,
      { id: userId, passwordHash: stored },
      { passwordHash: await hashPassword(password) },
    );
  }

  /** "Refresh": uses the token up and hands out the next pair of its family. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const connection = this.em().getConnection();
    const hash = sha256(refreshToken);
    // One statement decides who uses the token: of two concurrent refreshes, one gets the row.
    // A family past its absolute lifetime is refused like an expired token.
    const [used]: { user_id: string; family_id: string; family_started_at: Date }[] =
      await connection.execute(
        `update refresh_tokens set used_at = now()
          where token_hash = ? and used_at is null and revoked_at is null and expires_at > now()
            and family_started_at > now() - make_interval(secs => ?)
          returning user_id, family_id, family_started_at`,
        [hash, this.settings.refreshFamilyMaxSeconds],
      );
    if (used) {
      const pair = await this.issue(used.user_id, used.family_id, used.family_started_at);
      // A sign-out that ran between the update above and the insert of the next token missed
      // that token in Postgres; it marked Redis before touching Postgres, so looking now (after
      // the insert) sees its mark, and the family is revoked again, the new token with it.
      if ((await this.redis.exists(revokedFamilyKey(used.family_id))) > 0) {
        await this.revokeFamily(used.family_id);
        throw invalidRefreshToken();
      }
      return pair;
    }
    const [seen]: { family_id: string; used_at: Date | null }[] = await connection.execute(
      'select family_id, used_at from refresh_tokens where token_hash = ?',
      [hash],
    );
    // Presented again after use: the token leaked, so no token of its family is good any more.
    if (seen?.used_at) await this.revokeFamily(seen.family_id);
    throw invalidRefreshToken();
  }

  /**
   * "Sign out" (and a leaked refresh token): ends the family, its refresh tokens in Postgres and
   * its access tokens everywhere at once. Redis first: the access tokens are what is in use.
   */
  async revokeFamily(familyId: string): Promise<void> {
    await this.redis.set(
      revokedFamilyKey(familyId),
      '1',
      'EX',
      this.settings.accessTokenTtlSeconds + REVOCATION_MARGIN_SECONDS,
    );
    await this.em().nativeUpdate(
      RefreshToken,
      { familyId, revokedAt: null },
      { revokedAt: new Date() },
    );
  }

  /**
   * The buyer an access token speaks for, or null. The signature proves the account existed when
   * the token was issued (nothing deletes accounts; whatever would must revoke their families),
   * so what is left to ask per request is whether its family has ended: one Redis round trip,
   * auto-pipelined with the other requests' commands, asked even when the token's signature
   * check is remembered.
   */
  async authenticate(token: string): Promise<AccessClaims | null> {
    const claims = await this.tokens.verify(token);
    if (!claims || (await this.redis.exists(revokedFamilyKey(claims.fam))) > 0) return null;
    return claims;
  }

  private async issue(userId: string, familyId: string, familyStartedAt: Date): Promise<TokenPair> {
    const refreshToken = randomBytes(32).toString('base64url');
    const em = this.em();
    em.create(RefreshToken, {
      user: userId,
      familyId,
      familyStartedAt,
      tokenHash: sha256(refreshToken),
      expiresAt: new Date(Date.now() + this.settings.refreshTokenTtlSeconds * 1000),
    });
    await em.flush();
    const { token, expiresIn } = await this.tokens.issue({ sub: userId, fam: familyId });
    return { accessToken: token, tokenType: 'Bearer', expiresIn, refreshToken };
  }
}
