import type { NextFunction, Request, Response } from 'express';
import { adminAuth } from '../../api/middleware/admin-auth';
import { AppError } from '../../shared/errors';

const TOKEN = 'the-admin-token-0123456789';

/** The little of Express the middleware touches: one request header, response headers, next(). */
function call(middleware: ReturnType<typeof adminAuth>, authorization?: string) {
  const headers: Record<string, string> = {};
  const req = {
    get: (name: string) => (name.toLowerCase() === 'authorization' ? authorization : undefined),
  } as unknown as Request;
  const res = {
    setHeader: (name: string, value: string) => {
      headers[name.toLowerCase()] = value;
    },
  } as unknown as Response;
  const next = jest.fn() as jest.MockedFunction<NextFunction>;
  let error: unknown;
  try {
    middleware(req, res, next);
  } catch (err) {
    error = err;
  }
  return { error, next, headers };
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function expectAppError(error: unknown, status: number, code: string) {
  expect(error).toBeInstanceOf(AppError);
  expect(error).toMatchObject({ status, code });
}

describe('adminAuth (Bearer only)', () => {
  const middleware = adminAuth(TOKEN);

  it('when there is no Authorization header, then it answers 401 and does not call next', () => {
    const { error, next, headers } = call(middleware);
    expectAppError(error, 401, 'UNAUTHENTICATED');
    expect(next).not.toHaveBeenCalled();
    expect(headers['www-authenticate']).toBeUndefined();
  });

  it('when the bearer token is wrong, then it answers 403', () => {
    const { error, next } = call(middleware, 'Bearer not-the-admin-token');
    expectAppError(error, 403, 'FORBIDDEN');
    expect(next).not.toHaveBeenCalled();
  });

  it('when the bearer token is a prefix of the right one, then it answers 403', () => {
    expectAppError(call(middleware, `Bearer ${TOKEN.slice(0, -1)}`).error, 403, 'FORBIDDEN');
  });

  it('when the bearer token is right, then it calls next', () => {
    const { error, next } = call(middleware, `Bearer ${TOKEN}`);
    expect(error).toBeUndefined();
    expect(next).toHaveBeenCalledTimes(1);
  });

  it('when the scheme is written in another case, then it is still recognised', () => {
    expect(call(middleware, `bearer ${TOKEN}`).next).toHaveBeenCalledTimes(1);
  });

  it('when Basic credentials carry the right token, then they are refused (Basic is not allowed here)', () => {
    const { error, next, headers } = call(middleware, basic('admin', TOKEN));
    expectAppError(error, 401, 'UNAUTHENTICATED');
    expect(next).not.toHaveBeenCalled();
    expect(headers['www-authenticate']).toBeUndefined();
  });
});

describe('adminAuth with allowBasic (the Bull Board pages)', () => {
  const middleware = adminAuth(TOKEN, { allowBasic: true });

  it('when there are no credentials, then it answers 401 and asks the browser for Basic credentials', () => {
    const { error, next, headers } = call(middleware);
    expectAppError(error, 401, 'UNAUTHENTICATED');
    expect(next).not.toHaveBeenCalled();
    expect(headers['www-authenticate']).toMatch(/^Basic realm=/);
  });

  it('when Basic carries the token as password, then any user name is accepted', () => {
    expect(call(middleware, basic('admin', TOKEN)).next).toHaveBeenCalledTimes(1);
    expect(call(middleware, basic('someone-else', TOKEN)).next).toHaveBeenCalledTimes(1);
  });

  it('when Basic carries a wrong password, then it answers 401 and the browser is asked again', () => {
    const { error, next, headers } = call(middleware, basic('admin', 'wrong-password'));
    expectAppError(error, 401, 'UNAUTHENTICATED');
    expect(next).not.toHaveBeenCalled();
    expect(headers['www-authenticate']).toMatch(/^Basic realm=/);
  });

  it('when Basic carries the token as the user name, then it is refused', () => {
    const { error, next } = call(middleware, basic(TOKEN, ''));
    expectAppError(error, 401, 'UNAUTHENTICATED');
    expect(next).not.toHaveBeenCalled();
  });

  it('when Basic credentials have no colon, then nothing of them is taken as the password', () => {
    const { error, next } = call(middleware, `Basic ${Buffer.from(TOKEN).toString('base64')}`);
    expectAppError(error, 401, 'UNAUTHENTICATED');
    expect(next).not.toHaveBeenCalled();
  });

  it('when the bearer token is right, then tools keep working too', () => {
    expect(call(middleware, `Bearer ${TOKEN}`).next).toHaveBeenCalledTimes(1);
  });
});
