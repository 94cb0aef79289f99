import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RedisClient } from '../redis';

const SCRIPTS_DIR = path.join(__dirname, 'scripts');

/**
 * Reads a script and inlines its `--- @include "name"` lines (scripts/includes/name.lua), the
 * convention BullMQ uses for its own commands, so helpers are written once.
 */
export function loadLua(name: string): string {
  const source = readFileSync(path.join(SCRIPTS_DIR, `${name}.lua`), 'utf8');
  return source.replace(/^--- @include "([\w-]+)"$/gm, (_line, include: string) =>
    readFileSync(path.join(SCRIPTS_DIR, 'includes', `${include}.lua`), 'utf8'),
  );
}

/** Raw script replies: a status word first, then what the script's header documents. */
export type ScriptReply = [string, ...(string | number)[]];

const COMMANDS = {
  holdSeats: 'hold-seats',
  holdBestSeats: 'hold-best-seats',
  confirmHold: 'confirm-hold',
  endHold: 'end-hold',
  startPayment: 'start-payment',
  settleHold: 'settle-hold',
  releaseSoldSeats: 'release-sold-seats',
  readSeatMap: 'read-seat-map',
} as const;

/**
 * The hold scripts' command names (and the seat map's read). Their key count varies, so it is
 * their first argument: a client that auto-pipelines passes these to createRedis as its
 * `scriptCommands`.
 */
export const HOLD_SCRIPT_COMMANDS: readonly string[] = Object.keys(COMMANDS);

type Script = (keys: string[], args: (string | number)[]) => Promise<ScriptReply>;
export type HoldScripts = Record<keyof typeof COMMANDS, Script>;

/**
 * Registers the hold scripts on a client. ioredis sends them by SHA (EVALSHA) and falls back to
 * EVAL once per connection, so each call is one round trip.
 */
export function holdScripts(redis: RedisClient): HoldScripts {
  const commands = redis as unknown as Record<
    string,
    (...args: (string | number)[]) => Promise<ScriptReply>
  >;
  for (const [command, file] of Object.entries(COMMANDS)) {
    if (!commands[command]) redis.defineCommand(command, { lua: loadLua(file) });
  }
  const call =
    (command: string): Script =>
    (keys, args) =>
      commands[command]!(keys.length, ...keys, ...args);
  return Object.fromEntries(
    Object.keys(COMMANDS).map((command) => [command, call(command)]),
  ) as HoldScripts;
}
