import { createHash, randomBytes } from 'node:crypto';
import { seal, sealingKey, unseal } from '../sealed';

/** The hold's secret: returned once to the buyer, kept by us only as a SHA-256 hash. */
export const newHoldToken = () => randomBytes(32).toString('base64url');

export const hashHoldToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * The token as a hold requested with an Idempotency-Key keeps it: sealed under that key, which
 * only the client holds, so its retry can be given the token again and Redis alone cannot.
 */
export const sealHoldToken = (token: string, holdId: string, idempotencyKey: string) =>
  seal(sealingKey(idempotencyKey, holdId, 'hold-token'), token);

export const unsealHoldToken = (sealed: string, holdId: string, idempotencyKey: string) =>
  unseal(sealingKey(idempotencyKey, holdId, 'hold-token'), sealed);
