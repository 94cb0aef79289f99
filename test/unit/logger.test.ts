import { PassThrough } from 'node:stream';
import winston from 'winston';
import { User } from '../../shared/db/entities';
import { createLogger, redact, runWithLogContext, type Logger } from '../../shared/logger';
import { createTestDatabase, type TestDatabase } from '../support/database';

const R = '[redacted]';

describe('redact', () => {
  it.each([
    'authorization',
    'Authorization',
    'password',
    'cvv',
    'card',
    'holdToken',
    'token',
    'x-hold-token',
    'accessToken',
    'refreshToken',
    'entryToken',
    'cookie',
    'email',
    'sql',
    'parameters',
    'detail',
  ])('when a value sits under %j, then it is hidden', (key) => {
    expect(redact({ [key]: 'secret-value', ok: 1 })).toEqual({ [key]: R, ok: 1 });
  });

  it('when secrets are nested in objects and arrays, then they are hidden there too', () => {
    const input = {
      request: { headers: { authorization: 'Bearer abc', accept: 'application/json' } },
      payments: [
        { method: 'credit_card', card: { number: '4111111111111111', cvv: '123' } },
        { method: 'pix', holds: [{ holdId: 'h1', holdToken: 'tok-1' }] },
      ],
      user: { email: 'ana@example.com', password: 'hunter2' },
    };
    expect(redact(input)).toEqual({
      request: { headers: { authorization: R, accept: 'application/json' } },
      payments: [
        { method: 'credit_card', card: R },
        { method: 'pix', holds: [{ holdId: 'h1', holdToken: R }] },
      ],
      user: { email: R, password: R },
    });
  });

  it('when a secret is five levels deep, then it is still hidden', () => {
    const deep = { a: { b: { c: { d: { e: { token: 'abc', keep: true } } } } } };
    expect(redact(deep)).toEqual({ a: { b: { c: { d: { e: { token: R, keep: true } } } } } });
  });

  it('when a secret is nested deeper than the depth limit, then it is still hidden', () => {
    const deep = { a: { b: { c: { d: { e: { f: { g: { token: 'LEAK' } } } } } } } };
    expect(JSON.stringify(redact(deep))).not.toContain('LEAK');
  });

  it('when the value holds nothing secret, then it comes back equal and the input is not mutated', () => {
    const input = { orderId: 'o1', seats: ['A1', 'A2'], totalCents: 5000, paid: false, note: null };
    const copy = structuredClone(input);
    expect(redact(input)).toEqual(copy);
    const secret = { token: 'abc' };
    redact(secret);
    expect(secret).toEqual({ token: 'abc' });
  });

  it.each([['text'], [42], [null], [undefined], [true]])(
    'when the value is the primitive %p, then it is kept',
    (v) => {
      expect(redact(v)).toBe(v);
    },
  );

  it('when the value is an Error, then its name, message and stack are kept', () => {
    const error = new TypeError('seat not found');
    expect(redact({ err: error })).toEqual({
      err: { name: 'TypeError', message: 'seat not found', stack: error.stack },
    });
  });
});

describe('createLogger', () => {
  let logger: Logger;
  let lines: Record<string, unknown>[];
  let waiters: (() => void)[];

  beforeEach(() => {
    lines = [];
    waiters = [];
    const stream = new PassThrough();
    stream.setEncoding('utf8');
    let buffered = '';
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>);
        buffered = buffered.slice(newline + 1);
        for (const wake of waiters.splice(0)) wake();
      }
    });
    logger = createLogger({ level: 'info', service: 'test-service' });
    logger.clear().add(new winston.transports.Stream({ stream }));
  });

  afterEach(() => {
    logger.close();
  });

  /** Resolves with the JSON line number `index` once the transport has written it. */
  function line(index: number): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const check = () => (lines[index] ? resolve(lines[index]) : waiters.push(check));
      check();
    });
  }

  it('when a line is logged, then it is JSON with level, message, service and timestamp', async () => {
    logger.info('seat held', { seatId: 's1' });
    expect(await line(0)).toEqual({
      level: 'info',
      message: 'seat held',
      service: 'test-service',
      seatId: 's1',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('when a line is logged inside a log context, then it carries the request id, also after an await', async () => {
    await runWithLogContext({ requestId: 'r1' }, async () => {
      logger.info('before await');
      await new Promise((resolve) => setImmediate(resolve));
      logger.info('after await');
    });
    logger.info('outside');

    expect(await line(0)).toMatchObject({ message: 'before await', requestId: 'r1' });
    expect(await line(1)).toMatchObject({ message: 'after await', requestId: 'r1' });
    expect(await line(2)).not.toHaveProperty('requestId');
  });

  it('when contexts nest, then the inner line carries both the outer and the inner fields', async () => {
    runWithLogContext({ requestId: 'r1' }, () =>
      runWithLogContext({ jobId: 'j9' }, () => logger.info('inner')),
    );
    expect(await line(0)).toMatchObject({ message: 'inner', requestId: 'r1', jobId: 'j9' });
  });

  it('when card data is passed as meta, then neither the card number nor the CVV reaches the output', async () => {
    logger.info('payment requested', {
      method: 'credit_card',
      card: {
        number: '4111111111111111',
        holderName: 'Ana',
        expMonth: 12,
        expYear: 2030,
        cvv: '123',
      },
      cardLast4: '1111',
      headers: { 'x-hold-token': 'hold-secret' },
    });
    const logged = await line(0);
    expect(logged).toMatchObject({
      method: 'credit_card',
      card: R,
      cardLast4: '1111',
      headers: { 'x-hold-token': R },
    });
    const raw = JSON.stringify(logged);
    expect(raw).not.toContain('4111111111111111');
    expect(raw).not.toContain('hold-secret');
  });

  it('when an Error is logged, directly or as meta, then its message and stack are kept', async () => {
    logger.error(new Error('broker unreachable'));
    logger.error('finalisation failed', { err: new Error('db down') });
    expect(await line(0)).toMatchObject({
      level: 'error',
      service: 'test-service',
      message: 'broker unreachable',
      stack: expect.stringContaining('broker unreachable'),
    });
    expect(await line(1)).toMatchObject({
      message: 'finalisation failed',
      err: { name: 'Error', message: 'db down', stack: expect.stringContaining('db down') },
    });
  });

  it('when the level is below the configured one, then nothing is written', async () => {
    logger.debug('noise');
    logger.info('signal');
    expect(await line(0)).toMatchObject({ message: 'signal' });
    expect(lines).toHaveLength(1);
  });
});

describe('database errors in the log', () => {
  const EMAIL = 'planted.9f3c@example.com';
  const NOT_AN_ID = 'planted-value-77a1';
  let db: TestDatabase;
  let duplicate: Error;
  let badValue: Error;

  beforeAll(async () => {
    db = await createTestDatabase({ seed: false });
    const insert = () => {
      const em = db.orm.em.fork();
      em.create(User, { name: 'Ana', email: EMAIL, passwordHash: 'hash-planted-31' });
      return em.flush();
    };
    await insert();
    duplicate = await insert().then(
      () => new Error('the second insert succeeded'),
      (err: Error) => err,
    );
    badValue = await db.orm.em
      .getConnection()
      .execute('select * from users where id = ?', [NOT_AN_ID])
      .then(
        () => new Error('the query succeeded'),
        (err: Error) => err,
      );
  });

  afterAll(() => db.drop());

  /** Every line written while `log` runs, as parsed JSON and as raw text. */
  async function logged(log: (logger: Logger) => void): Promise<string[]> {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    const logger = createLogger({ level: 'debug', service: 'test' });
    logger.clear().add(new winston.transports.Stream({ stream }));
    log(logger);
    await new Promise((resolve) => setImmediate(resolve));
    logger.close();
    return chunks.join('').split('\n').filter(Boolean);
  }

  it('when Postgres refuses a duplicate, then the driver error carries the email and the SQL (so the test below means something)', () => {
    expect(duplicate.constructor.name).toBe('UniqueConstraintViolationException');
    expect(`${duplicate.message} ${JSON.stringify(duplicate)}`).toContain(EMAIL);
    expect(duplicate.message).toMatch(/insert into "users"/);
  });

  it.each([
    ['as the line', (l: Logger, e: Error) => l.error(e)],
    ['as meta', (l: Logger, e: Error) => l.error('sign-up failed', e)],
    ['under a key', (l: Logger, e: Error) => l.error('sign-up failed', { err: e })],
    ['as its message', (l: Logger, e: Error) => l.warn('sign-up failed', { err: e.message })],
  ])(
    'when a unique violation is logged %s, then the line keeps class, SQLSTATE and constraint and holds neither SQL nor values',
    async (_how, log) => {
      const lines = await logged((logger) => log(logger, duplicate));
      expect(lines).toHaveLength(1);
      const line = lines[0]!;
      expect(line).not.toContain(EMAIL);
      expect(line).not.toContain('hash-planted-31');
      expect(line).not.toMatch(/insert into|values \(/i);
      expect(line).toContain('duplicate key value violates unique constraint');
      if (!line.includes('"err":"')) {
        expect(line).toContain('UniqueConstraintViolationException');
        expect(line).toContain('"code":"23505"');
        expect(line).toContain('"constraint":"users_email_unique"');
        expect(line).toContain('"table":"users"');
      }
    },
  );

  it('when Postgres quotes a bad value back, then the value is not logged but the reason is', async () => {
    expect(badValue.message).toContain(NOT_AN_ID);
    const [line] = await logged((logger) => logger.error('lookup failed', { err: badValue }));
    expect(line).not.toContain(NOT_AN_ID);
    expect(line).not.toMatch(/select \*/i);
    expect(line).toContain('invalid input syntax for type uuid');
    expect(line).toContain('"code":"22P02"');
  });
});
