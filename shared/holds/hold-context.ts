import type { Config } from '../config';
import type { CheckoutQueues } from '../queues';
import { hashHoldToken } from './hold-token';
import { holdScripts, type HoldScripts } from './scripts';
import type { RedisClient } from '../redis';

/** What every hold use case needs: Redis (and its scripts), the hold settings, the queues. */
export interface HoldContext {
  redis: RedisClient;
  scripts: HoldScripts;
  settings: Config['holds'];
  queues: CheckoutQueues;
}

export function createHoldContext(
  redis: RedisClient,
  settings: Config['holds'],
  queues: CheckoutQueues,
): HoldContext {
  return { redis, scripts: holdScripts(redis), settings, queues };
}

/** How long a hold's record outlives its end, so its final stage can still be read. */
export const HOLD_RECORD_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * Who is acting on a hold: on the /api/v1 routes, the signed-in buyer, who must own it and present
 * its token (the hold's capability); on the seed-compatible routes, which carry neither, its user.
 */
export type HoldAuth =
  { kind: 'owner'; userId: string; token: string } | { kind: 'user'; userId: string };

/** ARGV of the scripts' `authorized()` (scripts/includes/common.lua): kind, then what it checks. */
export function authArgs(auth: HoldAuth): [string, string] {
  return auth.kind === 'owner'
    ? ['owner', `${auth.userId}:${hashHoldToken(auth.token)}`]
    : ['user', auth.userId];
}

export const secondsUntil = (epochMs: number) =>
  Math.max(0, Math.ceil((epochMs - Date.now()) / 1000));
