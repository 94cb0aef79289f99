import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, uuidPrimaryKey } from './columns';

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: uuidPrimaryKey(),
    name: p.string().length(120),
    email: p.string().length(254).unique('users_email_unique'),
    birthDate: p.date().nullable(),
    /** Argon2id hash, or a first release's scrypt one (shared/auth/passwords.ts); null for an account that cannot sign in. */
    passwordHash: p.text().nullable(),
    createdAt: createdAt(),
  },
});
export type User = InferEntity<typeof User>;
