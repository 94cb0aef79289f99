import { randomBytes, randomInt } from 'node:crypto';
import { PassThrough } from 'node:stream';
import request from 'supertest';
import winston from 'winston';
import { createLogger } from '../../shared/logger';
import { apiInstance } from '../support/api';
import { signUpBuyer, testCard } from '../support/buyers';
import { confirmedHold, Dealer, seededCinema } from '../support/cinema';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { envOf, freePort, startEntryProcess, type EntryProcess } from '../support/processes';
import { createTestVhost, type TestVhost } from '../support/rabbitmq';
import { claimRedisDb, flushRedis, type OwnRedisDb } from '../support/redis-db';
import { waitFor } from '../support/wait';

/**
 * §4.5: logs never hold a password, a token, a card number, an email or an SQL statement with
 * its values. A whole checkout runs with every log at debug — the API in this process, every
 * worker kind as a real process — with values planted along the way, and a database error
 * forced with the planted email in its values; then every line is searched for them.
 *
 * Its own Redis db: the worker process shares it with the API for the whole file.
 */
jest.setTimeout(90_000);

const run = randomBytes(4).toString('hex');
const PASSWORD = `planted-password-${run}`;
const EMAIL = `planted.${run}@example.com`;
/** Signing up with this one breaks a constraint the test adds: a write Postgres refuses. */
const REFUSED_EMAIL = `refused.${run}@example.com`;

/** A 16-digit Visa-like number with a valid Luhn check digit, new on every run. */
function plantedCardNumber(): string {
  const body = `4${Array.from({ length: 14 }, () => randomInt(10)).join('')}`;
  const sum = [...body]
    .reverse()
    .map(Number)
    .reduce(
      (acc, digit, i) => acc + (i % 2 === 0 ? (digit * 2 > 9 ? digit * 2 - 9 : digit * 2) : digit),
      0,
    );
  return `${body}${(10 - (sum % 10)) % 10}`;
}
const CARD_NUMBER = plantedCardNumber();

let redisDb: OwnRedisDb;
let vhost: TestVhost;
let db: TestDatabase;
let api: Awaited<ReturnType<typeof apiInstance>>;
let workers: EntryProcess;
const apiLog: string[] = [];

beforeAll(async () => {
  redisDb = await claimRedisDb();
  vhost = await createTestVhost();
  db = await createTestDatabase({ env: { RABBITMQ_URL: vhost.url, REDIS_DB: redisDb.db } });
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => apiLog.push(chunk.toString()));
  const logger = createLogger({ level: 'debug', service: 'api' });
  logger.clear().add(new winston.transports.Stream({ stream }));
  api = await apiInstance(db, { logger });
  await flushRedis(api.redis);
  await redisDb.mark();
  const port = await freePort();
  workers = await startEntryProcess(
    'workers/main.ts',
    envOf(db.config, { LOG_LEVEL: 'debug', METRICS_PORT: String(port) }),
    `http://127.0.0.1:${port}/health/ready`,
  );
});
afterAll(async () => {
  await workers?.kill();
  await api?.queues.close();
  if (api) await flushRedis(api.redis);
  await api?.redis.quit();
  await db?.drop();
  await vhost?.delete();
  await redisDb?.release();
});

const http = () => request(api.app);
const jsonLines = (text: string) => text.split('\n').filter((line) => line.startsWith('{'));

it('when a buyer signs up, signs in, pays by card and the database refuses a write, then no log line holds the password, a token, the card number or the email', async () => {
  const buyer = await signUpBuyer(api.app, 'Planted Buyer', EMAIL, PASSWORD);
  const { big } = await seededCinema(api.app);
  const hold = await confirmedHold(api.app, buyer.userId, new Dealer(big.seats).freshSeats(2));
  const paid = await http()
    .post(`/api/v1/holds/${hold.holdId}/payment`)
    .set({ Authorization: `Bearer ${buyer.accessToken}`, 'X-Hold-Token': hold.holdToken })
    .set('Idempotency-Key', `planted-${run}`)
    .send({ method: 'credit_card', card: { ...testCard(CARD_NUMBER), cvv: '917' } })
    .expect(202);
  await waitFor(
    async () =>
      (
        await http()
          .get(`/api/v1/orders/${paid.body.orderId}`)
          .set('Authorization', `Bearer ${buyer.accessToken}`)
      ).body.status === 'paid',
    { what: 'the planted order paid', timeoutMs: 30_000 },
  );
  const refreshed = await http()
    .post('/api/v1/auth/refresh')
    .send({ refreshToken: buyer.refreshToken })
    .expect(200);

  await db.orm.em
    .getConnection()
    .execute(`alter table users add constraint refused_email check (email <> '${REFUSED_EMAIL}')`);
  await http()
    .post('/api/v1/users')
    .send({ name: 'Refused Buyer', email: REFUSED_EMAIL, password: PASSWORD })
    .expect(500);
  // The refusal reaches the log: what follows proves redaction, not silence.
  const refusal = await waitFor(
    () =>
      jsonLines(apiLog.join(''))
        .map((line) => JSON.parse(line) as { level: string; err?: Record<string, unknown> })
        .find((line) => line.level === 'error' && JSON.stringify(line).includes('refused_email')),
    { what: 'the refused write logged' },
  );

  const planted = {
    password: PASSWORD,
    email: EMAIL,
    'refused email': REFUSED_EMAIL,
    'card number': CARD_NUMBER,
    'access token': buyer.accessToken,
    'refresh token': buyer.refreshToken,
    'refreshed access token': refreshed.body.accessToken as string,
    'refreshed refresh token': refreshed.body.refreshToken as string,
    'hold token': hold.holdToken,
  };
  for (const value of Object.values(planted)) expect(value).toEqual(expect.any(String));

  const logs = {
    api: apiLog.join(''),
    'worker stdout': workers.stdout(),
    'worker stderr': workers.stderr(),
  };
  expect(jsonLines(logs.api).length).toBeGreaterThan(10);
  expect(jsonLines(logs['worker stdout']).length).toBeGreaterThan(0);
  const leaks = Object.entries(planted).flatMap(([what, value]) =>
    Object.entries(logs)
      .filter(([, text]) => text.toLowerCase().includes(value.toLowerCase()))
      .map(([where, text]) => ({
        what,
        where,
        line: text.split('\n').find((l) => l.toLowerCase().includes(value.toLowerCase())),
      })),
  );
  expect(leaks).toEqual([]);
  // What an operator needs of the refusal stays: its class, SQLSTATE, constraint and table.
  expect(refusal.err).toMatchObject({
    name: 'CheckConstraintViolationException',
    code: '23514',
    constraint: 'refused_email',
    table: 'users',
  });
  // No statement text either: the refused insert carried the email and the password's hash.
  expect(logs.api).not.toMatch(/insert into|values \(/i);
});
