import { randomBytes, scryptSync } from 'node:crypto';
import { verify as argon2Verify } from '@node-rs/argon2';
import { hashPassword, needsRehash, verifyPassword } from '../../shared/auth/passwords';

// The real binding, with its verify watched: which hash an unknown email is checked against.
jest.mock('@node-rs/argon2', () => {
  const actual = jest.requireActual('@node-rs/argon2');
  return { ...actual, verify: jest.fn(actual.verify) };
});

/** A hash as the first release stored it: scrypt N = 2^15, r = 8, p = 1. */
function firstReleaseHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', 2 ** 15, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
}

describe('passwords', () => {
  it("when a password is hashed, then it is Argon2id at OWASP's strength (19 MiB, t=2, p=1), salted, and only that password matches", async () => {
    const stored = await hashPassword('correct horse battery');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[\w+/]+\$[\w+/]+$/);
    expect(stored).not.toBe(await hashPassword('correct horse battery'));
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery!', stored)).toBe(false);
    expect(needsRehash(stored)).toBe(false);
  });

  it('when a hash of the first release (scrypt) is stored, then its password still matches and it is marked for rehashing', async () => {
    const stored = firstReleaseHash('an-old-password-1');
    expect(await verifyPassword('an-old-password-1', stored)).toBe(true);
    expect(await verifyPassword('an-old-password-2', stored)).toBe(false);
    expect(needsRehash(stored)).toBe(true);
  });

  it('when an Argon2id hash has weaker parameters than today, then it is marked for rehashing', () => {
    expect(
      needsRehash('$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA'),
    ).toBe(true);
  });

  it('when there is no stored hash or an unknown scheme, then nothing matches', async () => {
    expect(await verifyPassword('anything-at-all', null)).toBe(false);
    expect(await verifyPassword('anything-at-all', 'plain$anything-at-all')).toBe(false);
  });

  it('when the email is unknown, then a full Argon2id check at the current strength still runs, against a decoy', async () => {
    const verify = jest.mocked(argon2Verify);
    verify.mockClear();
    expect(await verifyPassword('a-guessed-password', null)).toBe(false);
    expect(verify).toHaveBeenCalledTimes(1);
    const [decoy] = verify.mock.calls[0]!;
    expect(decoy).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });
});
