import { accessTokens } from '../../shared/auth/access-tokens';
import { waitFor } from '../support/wait';

const auth = {
  jwtSecret: 'a-test-secret-that-is-long-enough-for-hs256-0123456789',
  accessTokenTtlSeconds: 1,
  refreshTokenTtlSeconds: 60,
  refreshFamilyMaxSeconds: 600,
  demoUserPassword: null,
};

describe('access tokens', () => {
  it('when a token was verified once, then it is still refused once its own expiry has passed', async () => {
    const tokens = accessTokens(auth);
    const { token } = await tokens.issue({ sub: 'user-1', fam: 'family-1' });
    expect(await tokens.verify(token)).toEqual({ sub: 'user-1', fam: 'family-1' });
    // Remembered now: only the expiry it carries can end it.
    await waitFor(async () => (await tokens.verify(token)) === null, {
      timeoutMs: 4_000,
      what: 'the verified token to expire',
    });
  });

  it('when a verified token is altered by one character, then it is refused, whatever was verified before', async () => {
    const tokens = accessTokens({ ...auth, accessTokenTtlSeconds: 600 });
    const { token } = await tokens.issue({ sub: 'user-2', fam: 'family-2' });
    expect(await tokens.verify(token)).not.toBeNull();
    const forged = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    expect(await tokens.verify(forged)).toBeNull();
  });
});
