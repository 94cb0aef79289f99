import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, timestamp, uuidPrimaryKey } from './columns';
import { User } from './user';

/**
 * A refresh token, stored only as its SHA-256. Tokens rotate: each refresh uses one up and issues
 * the next of the same family; presenting a used one again means it was stolen (or replayed), and
 * revokes the whole family. Each token carries its family's start, so that a refresh can tell
 * the family's age from the one row it uses up.
 */
export const RefreshToken = defineEntity({
  name: 'RefreshToken',
  tableName: 'refresh_tokens',
  properties: {
    id: uuidPrimaryKey(),
    user: () => p.manyToOne(User).deleteRule('cascade'),
    familyId: p.uuid().index('refresh_tokens_family_idx'),
    /** When the family's sign-in was: it ends REFRESH_FAMILY_MAX_SECONDS later, however refreshed. */
    familyStartedAt: timestamp(),
    tokenHash: p.string().length(64).unique('refresh_tokens_hash_unique'),
    expiresAt: timestamp(),
    usedAt: timestamp().nullable(),
    revokedAt: timestamp().nullable(),
    createdAt: createdAt(),
  },
});
export type RefreshToken = InferEntity<typeof RefreshToken>;
