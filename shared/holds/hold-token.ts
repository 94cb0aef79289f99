import { createHash, randomBytes } from 'node:crypto';

/** The hold's secret: returned once to the buyer, kept by us only as a SHA-256 hash. */
export const newHoldToken = () => randomBytes(32).toString('base64url');

export const hashHoldToken = (token: string) => createHash('sha256').update(token).digest('hex');
