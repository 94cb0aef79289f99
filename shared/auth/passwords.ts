import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { Algorithm, hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';

/**
 * Passwords are stored only as Argon2id hashes at OWASP's Password Storage Cheat Sheet strength
 * (m = 19 MiB, t = 2, p = 1), as PHC strings that carry their own parameters and salt. At that
 * strength Argon2id costs about 15 CPU-ms a hash here, where scrypt at OWASP's strength for it
 * (N = 2^17, r = 8) costs about 700 (README, Security): the same guessing cost for an attacker,
 * a fraction of the server's CPU per sign-in.
 */
const ARGON2ID = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 };
/** What every hash made with the current parameters starts with (PHC: version 0x13 = 19). */
const CURRENT_PREFIX = `$argon2id$v=19$m=${ARGON2ID.memoryCost},t=${ARGON2ID.timeCost},p=${ARGON2ID.parallelism}$`;

export function hashPassword(password: string): Promise<string> {
  return argon2Hash(password.normalize('NFC'), ARGON2ID);
}

/** Whether a stored hash was made with older parameters or scheme, to be replaced at sign-in. */
export const needsRehash = (stored: string): boolean => !stored.startsWith(CURRENT_PREFIX);

/**
 * Hashes of the first release: `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>` (N = 2^15, r = 8).
 * Still checked, so nobody is locked out; a successful sign-in replaces them with Argon2id.
 */
async function verifyScrypt(password: string, stored: string): Promise<boolean> {
  const [, N, r, p, salt, hash] = stored.split('$');
  if (!salt || !hash) return false;
  const params = { N: Number(N), r: Number(r), p: Number(p) };
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  const expected = Buffer.from(hash, 'base64');
  const key = await new Promise<Buffer>((resolve, reject) =>
    scrypt(
      password.normalize('NFC'),
      Buffer.from(salt, 'base64'),
      expected.length,
      options,
      (err, k) => (err ? reject(err) : resolve(k)),
    ),
  );
  return timingSafeEqual(key, expected);
}

/** A stored hash to check against when the account does not exist, so both cost the same. */
let decoy: Promise<string> | undefined;

/**
 * Whether `password` matches `stored`. With no stored hash (unknown email, or an account without a
 * password) it still runs a current-strength Argon2id check, against a decoy, so a wrong email and
 * a wrong password take about the same time and cannot be told apart.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (stored === null) {
    decoy ??= hashPassword(randomBytes(16).toString('hex'));
    await argon2Verify(await decoy, password.normalize('NFC'));
    return false;
  }
  if (stored.startsWith('scrypt$')) return verifyScrypt(password, stored);
  if (!stored.startsWith('$argon2id$')) return false;
  return argon2Verify(stored, password.normalize('NFC'));
}
