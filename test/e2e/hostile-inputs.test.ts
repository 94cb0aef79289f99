import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import request from 'supertest';
import {
  Movie,
  Order,
  Payment,
  RefreshToken,
  Room,
  Session,
  SessionSeat,
  User,
} from '../../shared/db/entities';
import { startTestApi, type TestApi } from '../support/api';
import { asBuyer, DEMO_PASSWORD, signIn } from '../support/buyers';
import {
  confirmedHold,
  Dealer,
  holdSeats,
  scanKeys,
  seededCinema,
  type Hold,
} from '../support/cinema';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';

/**
 * No 5xx from input (§4): every write route, and every header and query string a route reads,
 * answers a hostile value with `400 VALIDATION_FAILED` naming the field, and stores nothing.
 * Hostile: control characters (NUL first: PostgreSQL refuses it in text), lone UTF-16 surrogates
 * (not encodable as UTF-8), text that grows when lower-cased, over-long text, numbers beyond the
 * int columns, and years PostgreSQL cannot store or no cinema means.
 */

let redisDb: OwnRedisDb;
let api: TestApi;
let users: { id: string; email: string }[];
/** users[0]'s hold, still `held`; users[1]'s hold, `confirmed`. Hostile requests touch neither. */
let held: Hold;
let confirmed: Hold;
let dealer: Dealer;
let refreshToken: string;
/** A movie and a room of the seeded cinema, for new sessions. */
let seededMovie: string;
let seededRoom: string;

beforeAll(async () => {
  redisDb = await claimRedisDb();
  api = await startTestApi({ REDIS_DB: redisDb.db, SEED_ROUTES: 'on' });
  // startTestApi flushed the db, and the claim with it.
  await redisDb.mark();
  const cinema = await seededCinema(api.app);
  users = cinema.users;
  dealer = new Dealer(cinema.big.seats);
  held = await holdSeats(api.app, users[0]!.id, dealer.freshSeats(1));
  confirmed = await confirmedHold(api.app, users[1]!.id, dealer.freshSeats(1));
  ({ refreshToken } = await signIn(api.app, users[2]!.email, DEMO_PASSWORD));
  seededMovie = (await http().get('/api/v1/movies').expect(200)).body[0].id;
  seededRoom = (await http().get('/api/v1/rooms').expect(200)).body[0].id;
  before = await storedState();
});
afterAll(async () => {
  await api?.close();
  await redisDb?.release();
});

const http = () => request(api.app);
const nextYear = new Date().getUTCFullYear() + 1;
const validCard = () => ({
  number: '4111111111111111',
  holderName: 'Ana Souza',
  expMonth: 12,
  expYear: nextYear,
  cvv: '123',
});

// --- What is stored, before and after ----------------------------------------------------------

let before: Awaited<ReturnType<typeof storedState>>;

async function storedState() {
  const em = api.db.orm.em.fork();
  const counts = Object.fromEntries(
    await Promise.all(
      (
        [
          ['users', User],
          ['movies', Movie],
          ['rooms', Room],
          ['sessions', Session],
          ['sessionSeats', SessionSeat],
          ['orders', Order],
          ['payments', Payment],
          ['refreshTokens', RefreshToken],
        ] as const
      ).map(async ([name, entity]) => [name, await em.count(entity as typeof User)] as const),
    ),
  );
  const seats = (await http().get(`/api/v1/sessions/${held.sessionId}`).expect(200)).body.seats as {
    id: string;
    status: string;
  }[];
  const stageOf = async (hold: Hold) =>
    (
      await http()
        .get(`/api/v1/holds/${hold.holdId}`)
        .set({ ...asBuyer(hold.userId), 'X-Hold-Token': hold.holdToken })
        .expect(200)
    ).body.stage as string;
  return {
    counts,
    seats: Object.fromEntries(seats.map((s) => [s.id, s.status])),
    stages: { held: await stageOf(held), confirmed: await stageOf(confirmed) },
    idempotencyKeys: (await scanKeys(api.redis, 'idem:*')).length,
  };
}

// --- The routes, each with a request that would succeed but for the hostile field --------------

interface Parts {
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: Record<string, unknown>;
}

interface Route {
  method: 'get' | 'post' | 'delete';
  path: string;
  base: () => Parts;
}

const ROUTES = {
  signUp: {
    method: 'post',
    path: '/api/v1/users',
    base: () => ({
      params: {},
      query: {},
      headers: {},
      body: {
        name: 'Hostile Test',
        email: `hostile-${randomUUID()}@example.com`,
        password: 'a-long-password',
        birthDate: '1990-05-17',
      },
    }),
  },
  signIn: {
    method: 'post',
    path: '/api/v1/auth/token',
    base: () => ({
      params: {},
      query: {},
      headers: {},
      body: { email: users[2]!.email, password: DEMO_PASSWORD },
    }),
  },
  refresh: {
    method: 'post',
    path: '/api/v1/auth/refresh',
    base: () => ({ params: {}, query: {}, headers: {}, body: { refreshToken } }),
  },
  createMovie: {
    method: 'post',
    path: '/api/v1/movies',
    base: () => ({
      params: {},
      query: {},
      headers: api.adminAuth,
      body: {
        title: 'Filme Hostil',
        durationMinutes: 100,
        rating: '14',
        synopsis: 'Uma história.',
      },
    }),
  },
  createRoom: {
    method: 'post',
    path: '/api/v1/rooms',
    base: () => ({
      params: {},
      query: {},
      headers: api.adminAuth,
      body: { name: `Sala ${randomUUID()}`, rows: 4, seatsPerRow: 4 },
    }),
  },
  createSession: {
    method: 'post',
    path: '/api/v1/sessions',
    base: () => ({
      params: {},
      query: {},
      headers: api.adminAuth,
      body: {
        movieId: movieId(),
        roomId: roomId(),
        startsAt: `${nextYear}-06-01T20:00:00.000Z`,
        priceCents: 2500,
      },
    }),
  },
  hold: {
    method: 'post',
    path: '/api/v1/holds',
    base: () => ({
      params: {},
      query: {},
      headers: { ...asBuyer(users[2]!.id), 'Idempotency-Key': randomUUID() },
      body: { seatIds: [freeSeat()] },
    }),
  },
  readHold: {
    method: 'get',
    path: '/api/v1/holds/:holdId',
    base: () => ({
      params: { holdId: held.holdId },
      query: {},
      headers: { ...asBuyer(held.userId), 'X-Hold-Token': held.holdToken },
    }),
  },
  confirm: {
    method: 'post',
    path: '/api/v1/holds/:holdId/confirm',
    base: () => ({
      params: { holdId: held.holdId },
      query: {},
      headers: { ...asBuyer(held.userId), 'X-Hold-Token': held.holdToken },
    }),
  },
  release: {
    method: 'delete',
    path: '/api/v1/holds/:holdId',
    base: () => ({
      params: { holdId: held.holdId },
      query: {},
      headers: { ...asBuyer(held.userId), 'X-Hold-Token': held.holdToken },
    }),
  },
  pay: {
    method: 'post',
    path: '/api/v1/holds/:holdId/payment',
    base: () => ({
      params: { holdId: confirmed.holdId },
      query: {},
      headers: {
        ...asBuyer(confirmed.userId),
        'X-Hold-Token': confirmed.holdToken,
        'Idempotency-Key': randomUUID(),
      },
      body: { method: 'credit_card', card: validCard() },
    }),
  },
  refund: {
    method: 'post',
    path: '/api/v1/orders/:orderId/refund',
    base: () => ({ params: { orderId: randomUUID() }, query: {}, headers: api.adminAuth }),
  },
  seedHold: {
    method: 'post',
    path: '/reserva/assento',
    base: () => ({
      params: {},
      query: {},
      headers: { 'Idempotency-Key': randomUUID() },
      body: { usuario_id: users[3]!.id, assento_id: freeSeat() },
    }),
  },
  seedHoldMany: {
    method: 'post',
    path: '/reserva/assento',
    base: () => ({
      params: {},
      query: {},
      headers: {},
      body: { usuario_id: users[3]!.id, assento_ids: [freeSeat()] },
    }),
  },
  seedConfirm: {
    method: 'post',
    path: '/reserva/confirma-intencao',
    base: () => ({
      params: {},
      query: {},
      headers: {},
      body: { usuario_id: held.userId, assento_id: held.seatIds[0] },
    }),
  },
  seedPay: {
    method: 'post',
    path: '/reserva/pagamento',
    base: () => ({
      params: {},
      query: {},
      headers: { 'Idempotency-Key': randomUUID() },
      body: {
        usuario_id: confirmed.userId,
        assento_id: confirmed.seatIds[0],
        method: 'credit_card',
        card: validCard(),
      },
    }),
  },
  listSessions: {
    method: 'get',
    path: '/api/v1/sessions',
    base: () => ({ params: {}, query: { movieId: movieId(), date: '2030-01-01' }, headers: {} }),
  },
  listUsers: {
    method: 'get',
    path: '/api/v1/users',
    base: () => ({ params: {}, query: { page: '1', pageSize: '10' }, headers: api.adminAuth }),
  },
  myOrders: {
    method: 'get',
    path: '/api/v1/me/orders',
    base: () => ({
      params: {},
      query: { page: '1', pageSize: '10' },
      headers: asBuyer(users[2]!.id),
    }),
  },
  userOrders: {
    method: 'get',
    path: '/api/v1/users/:userId/orders',
    base: () => ({
      params: { userId: users[2]!.id },
      query: { page: '1', pageSize: '10' },
      headers: asBuyer(users[2]!.id),
    }),
  },
} satisfies Record<string, Route>;
type RouteName = keyof typeof ROUTES;

/** A seat nobody holds: a valid request would hold it (so a missed refusal shows in the map). */
const freeSeat = () => dealer.freshSeats(1)[0]!;
const movieId = () => seededMovie;
const roomId = () => seededRoom;

/** A JSON number as written (`1e400`), which JSON.stringify cannot produce. */
class RawJson {
  constructor(readonly text: string) {}
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown) {
  const [key, ...rest] = path;
  if (rest.length === 0) target[key!] = value;
  else setPath(target[key!] as Record<string, unknown>, rest, value);
}

function toJson(body: unknown): string {
  const raws: string[] = [];
  const json = JSON.stringify(body, (_key, value: unknown) =>
    value instanceof RawJson ? `\u0000raw${raws.push(value.text) - 1}\u0000` : value,
  );
  return json.replace(/"\\u0000raw(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)]!);
}

/**
 * The route's base request with `field` (`body.card.holderName`, `headers.x-hold-token`,
 * `params.holdId`, `query.date`) set to `value`. Path and query values are given percent-encoded.
 */
function send(routeName: RouteName, field: string, value: unknown) {
  const route: Route = ROUTES[routeName];
  const parts = route.base();
  const [part, ...path] = field.split('.');
  if (part === 'headers') {
    // Header names are case-insensitive: replace the base's spelling of it.
    for (const name of Object.keys(parts.headers))
      if (name.toLowerCase() === path[0]) delete parts.headers[name];
    parts.headers[path[0]!] = value as string;
  } else setPath(parts as unknown as Record<string, unknown>, [part!, ...path], value);
  const url =
    route.path.replace(/:(\w+)/g, (_m, name: string) =>
      part === 'params' && name === path[0]
        ? (value as string)
        : encodeURIComponent(parts.params[name]!),
    ) +
    (Object.keys(parts.query).length > 0
      ? '?' +
        Object.entries(parts.query)
          .map(([k, v]) =>
            part === 'query' && k === path[0] ? `${k}=${v}` : `${k}=${encodeURIComponent(v)}`,
          )
          .join('&')
      : '');
  const req = http()[route.method](url).set(parts.headers);
  return parts.body === undefined
    ? req
    : req.set('Content-Type', 'application/json').send(toJson(parts.body));
}

// --- Hostile values, by the kind of field they are sent to -------------------------------------

/** [what the value is, the value, what the refusal's message says]. */
type Hostile = [string, unknown, RegExp];

const CONTROL = /must not contain control characters/;
const SURROGATE = /must not contain unpaired UTF-16 surrogates/;
const TOO_LONG = /length must be less than or equal to/;
const NOT_A_STRING = /must be a string/;

const controlAndSurrogates = (sample: string): Hostile[] => [
  ['holds a NUL character', `${sample}\u0000x`, CONTROL],
  ['holds an escape sequence', `${sample}\u001b[2J`, CONTROL],
  ['holds a line break', `${sample}\nx`, CONTROL],
  ['holds a DEL character', `${sample}\u007f`, CONTROL],
  ['holds a C1 control character (NEL)', `${sample}\u0085x`, CONTROL],
  ['holds a lone high surrogate', `${sample}\ud83d`, SURROGATE],
  ['holds a lone low surrogate', `\ude00${sample}`, SURROGATE],
  ['holds a surrogate pair the wrong way round', `${sample}\ude00\ud83d`, SURROGATE],
];

/** Names, titles: every hostile spelling, and nothing visible. */
const HOSTILE_TEXT: Hostile[] = [
  ...controlAndSurrogates('Ana Souza'),
  ['holds only invisible characters', '\u200b\u200d\u2060', /at least one visible character/],
  ['is 60 000 characters long (the body still under 64 KB)', 'x'.repeat(60_000), TOO_LONG],
  ['is an object', { $ne: null }, NOT_A_STRING],
];

/** A multi-line text (a synopsis) may hold line breaks and tabs; nothing else changes. */
const HOSTILE_MULTILINE_TEXT = HOSTILE_TEXT.filter(([what]) => what !== 'holds a line break');

const HOSTILE_EMAIL: Hostile[] = [
  ...controlAndSurrogates('ana').map(([what, value, message]): Hostile => [
    what,
    `${value as string}@example.com`,
    message,
  ]),
  [
    'grows past 254 characters when lower-cased (İ)',
    `${'İ'.repeat(32)}@${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(60)}.com`,
    /at most 254 characters long once lower-cased/,
  ],
  [
    'is 60 000 characters long (the body still under 64 KB)',
    `${'x'.repeat(60_000)}@example.com`,
    TOO_LONG,
  ],
  ['is an object', { $ne: null }, NOT_A_STRING],
];

const HOSTILE_SECRET: Hostile[] = [
  ...controlAndSurrogates('a-long-password'),
  ['is 60 000 characters long (the body still under 64 KB)', 'x'.repeat(60_000), TOO_LONG],
  ['is an object', { $ne: null }, NOT_A_STRING],
];

/** Opaque tokens in a JSON body: printable ASCII only. */
const HOSTILE_TOKEN: Hostile[] = [
  ...controlAndSurrogates('tok').map(([what, value]): Hostile => [what, value, /printable ASCII/]),
  ['holds a non-ASCII letter', 'tokén', /printable ASCII/],
  ['is 60 000 characters long (the body still under 64 KB)', 'x'.repeat(60_000), TOO_LONG],
  ['is an object', { $ne: null }, NOT_A_STRING],
];

/**
 * Header values as a client can put them on the wire (Node refuses to send NUL or anything
 * above U+00FF; see the raw-socket test for NUL): tabs and Latin-1 bytes get through.
 */
const HOSTILE_HEADER: Hostile[] = [
  ['holds a tab', 'abc\tdef', /printable ASCII/],
  ['holds a Latin-1 byte (é)', 'café-key', /printable ASCII/],
  ['holds a no-break space', 'a\u00a0b', /printable ASCII/],
  ['is 201 characters long', 'k'.repeat(201), TOO_LONG],
];

const NOT_A_UUID = /must be a UUID|must be a string|must be an array/;
const HOSTILE_UUID: Hostile[] = [
  ...controlAndSurrogates('00000000-0000-4000-8000-00000000000').map(([what, value]): Hostile => [
    what,
    value,
    NOT_A_UUID,
  ]),
  ['is a UUID with a dotted capital I', '0000000İ-0000-4000-8000-000000000001', NOT_A_UUID],
  ['is 60 000 characters long (the body still under 64 KB)', 'a'.repeat(60_000), NOT_A_UUID],
  ['is an object', { $ne: null }, NOT_A_UUID],
];

/** Path and query values, percent-encoded as they travel. */
const HOSTILE_URL_UUID: Hostile[] = [
  ['holds a NUL character', '00000000-0000-4000-8000-00000000000%00', NOT_A_UUID],
  ['holds an escape character', '00000000-0000-4000-8000-00000000000%1B', NOT_A_UUID],
  ['holds a dotted capital I', '0000000%C4%B0-0000-4000-8000-000000000001', NOT_A_UUID],
  ['is 2 000 characters long', 'a'.repeat(2_000), NOT_A_UUID],
];

const OUT_OF_RANGE =
  /must be (greater|less) than or equal to|must be an integer|must be a safe number|cannot be infinity|must be a number/;
const int = (min: number, max: number): Hostile[] => [
  [`is ${min - 1}, below ${min}`, min - 1, OUT_OF_RANGE],
  [`is ${max + 1}, above ${max}`, max + 1, OUT_OF_RANGE],
  ['is 2147483648, beyond a PostgreSQL integer', 2_147_483_648, OUT_OF_RANGE],
  ['is -2147483649, beyond a PostgreSQL integer', -2_147_483_649, OUT_OF_RANGE],
  ['is 2^53 + 2, beyond a safe integer', new RawJson('9007199254740994'), OUT_OF_RANGE],
  ['is 1e400, infinite once parsed', new RawJson('1e400'), OUT_OF_RANGE],
  ['is a fraction', new RawJson('1.5'), OUT_OF_RANGE],
  ['is a string holding a NUL character', '1\u0000', OUT_OF_RANGE],
];

const URL_INT: Hostile[] = [
  ['is 0', '0', OUT_OF_RANGE],
  ['is 2147483648', '2147483648', OUT_OF_RANGE],
  ['is 9007199254740993', '9007199254740993', OUT_OF_RANGE],
  ['is 1e400', '1e400', OUT_OF_RANGE],
  ['is a fraction', '1.5', OUT_OF_RANGE],
  ['holds a NUL character', '1%00', OUT_OF_RANGE],
  ['is 2 000 digits long', '9'.repeat(2_000), OUT_OF_RANGE],
];

const BAD_DAY =
  /or later|or earlier|cannot be in the future|calendar day|YYYY-MM-DD|must be a string/;
const tomorrow = new Date(Date.now() + 36 * 60 * 60 * 1000).toISOString().slice(0, 10);
const HOSTILE_BIRTH_DATE: Hostile[] = [
  ['is year 0, which PostgreSQL cannot store', '0000-01-01', BAD_DAY],
  ['is before 1900', '1899-12-31', BAD_DAY],
  ['is tomorrow', tomorrow, BAD_DAY],
  ['is year 9999', '9999-12-31', BAD_DAY],
  ['is year +275760', '+275760-09-13', BAD_DAY],
  ['is 30 February', '2000-02-30', BAD_DAY],
  ['holds a NUL character', '1990-01-01\u0000', BAD_DAY],
  ['is an object', { $gt: '' }, BAD_DAY],
];

const BAD_INSTANT = /or later|or earlier|ISO 8601|valid date/;
const HOSTILE_STARTS_AT: Hostile[] = [
  ['is year 0', '0000-01-01T20:00:00.000Z', BAD_INSTANT],
  ['is a year BC', '-000001-01-01T20:00:00.000Z', BAD_INSTANT],
  ['is year 1999', '1999-12-31T23:59:59.999Z', BAD_INSTANT],
  [
    'is the last day of 9999, whose next midnight cannot be queried',
    '9999-12-31T00:00:00.000Z',
    BAD_INSTANT,
  ],
  ['is year 10000', '+010000-01-01T00:00:00.000Z', BAD_INSTANT],
  ['is the last day JavaScript knows', '+275760-09-13T00:00:00.000Z', BAD_INSTANT],
  ['holds a NUL character', `${nextYear}-06-01T20:00:00.000Z\u0000`, BAD_INSTANT],
  ['is a number', 1_900_000_000_000, BAD_INSTANT],
];

const HOSTILE_URL_DAY: Hostile[] = [
  ['is year 0', '0000-01-01', BAD_DAY],
  ['is the last day of 9999, whose next midnight cannot be queried', '9999-12-31', BAD_DAY],
  ['is 30 February', '2030-02-30', BAD_DAY],
  ['is year +275760', '%2B275760-09-13', BAD_DAY],
  ['holds a NUL character', '2030-01-01%00', BAD_DAY],
  ['holds an encoded lone surrogate', '2030-01-01%ED%A0%80', BAD_DAY],
  ['is 2 000 characters long', '2'.repeat(2_000), BAD_DAY],
];

const BAD_METHOD = /must be one of|must be a string/;
const HOSTILE_METHOD: Hostile[] = [
  ['holds a NUL character', 'credit_card\u0000', BAD_METHOD],
  ['holds a lone surrogate', 'pix\ud800', BAD_METHOD],
  ['is 60 000 characters long (the body still under 64 KB)', 'x'.repeat(60_000), BAD_METHOD],
  ['is an object', { $ne: null }, BAD_METHOD],
];

const CARD_DIGITS = /pattern|valid card number|must be a string|length/;
const HOSTILE_CARD_DIGITS: Hostile[] = [
  ...controlAndSurrogates('4111111111111111').map(([w, v]): Hostile => [w, v, CARD_DIGITS]),
  ['is 60 000 digits long (the body still under 64 KB)', '4'.repeat(60_000), CARD_DIGITS],
  ['is an object', { $ne: null }, CARD_DIGITS],
];

/** The holder's name: all the text cases but "nothing visible" (no such rule for card names). */
const HOSTILE_HOLDER_NAME = HOSTILE_TEXT.filter(([what]) => !/invisible/.test(what));

// --- Where each goes ----------------------------------------------------------------------------

/** [what the field is, in words; route; field as `fields` names it; values]. */
const TARGETS: [string, RouteName, string, Hostile[]][] = [
  ['a sign-up name', 'signUp', 'body.name', HOSTILE_TEXT],
  ['a sign-up email', 'signUp', 'body.email', HOSTILE_EMAIL],
  ['a sign-up password', 'signUp', 'body.password', HOSTILE_SECRET],
  ['a sign-up birthDate', 'signUp', 'body.birthDate', HOSTILE_BIRTH_DATE],
  ['a sign-in email', 'signIn', 'body.email', HOSTILE_TEXT],
  ['a sign-in password', 'signIn', 'body.password', HOSTILE_SECRET],
  ['a refresh token', 'refresh', 'body.refreshToken', HOSTILE_TOKEN],
  ['a movie title', 'createMovie', 'body.title', HOSTILE_TEXT],
  ['a movie rating', 'createMovie', 'body.rating', HOSTILE_TEXT],
  ['a movie synopsis', 'createMovie', 'body.synopsis', HOSTILE_MULTILINE_TEXT],
  ['a movie durationMinutes', 'createMovie', 'body.durationMinutes', int(1, 1000)],
  ['a room name', 'createRoom', 'body.name', HOSTILE_TEXT],
  ['a room rows', 'createRoom', 'body.rows', int(1, 50)],
  ['a room seatsPerRow', 'createRoom', 'body.seatsPerRow', int(1, 50)],
  ['a session movieId', 'createSession', 'body.movieId', HOSTILE_UUID],
  ['a session roomId', 'createSession', 'body.roomId', HOSTILE_UUID],
  ['a session startsAt', 'createSession', 'body.startsAt', HOSTILE_STARTS_AT],
  ['a session priceCents', 'createSession', 'body.priceCents', int(0, 10_000_000)],
  ['a hold seat id', 'hold', 'body.seatIds.0', HOSTILE_UUID],
  ['a hold userId', 'hold', 'body.userId', HOSTILE_UUID],
  ["a hold's Idempotency-Key", 'hold', 'headers.idempotency-key', HOSTILE_HEADER],
  ["a hold read's X-Hold-Token", 'readHold', 'headers.x-hold-token', HOSTILE_HEADER],
  ["a confirmation's X-Hold-Token", 'confirm', 'headers.x-hold-token', HOSTILE_HEADER],
  ["a confirmation's hold id", 'confirm', 'params.holdId', HOSTILE_URL_UUID],
  ["a release's X-Hold-Token", 'release', 'headers.x-hold-token', HOSTILE_HEADER],
  ["a release's hold id", 'release', 'params.holdId', HOSTILE_URL_UUID],
  ['a card holderName', 'pay', 'body.card.holderName', HOSTILE_HOLDER_NAME],
  ['a card number', 'pay', 'body.card.number', HOSTILE_CARD_DIGITS],
  ['a card cvv', 'pay', 'body.card.cvv', HOSTILE_CARD_DIGITS],
  ['a card expMonth', 'pay', 'body.card.expMonth', int(1, 12)],
  ['a card expYear', 'pay', 'body.card.expYear', int(2000, 2100)],
  ['a payment method', 'pay', 'body.method', HOSTILE_METHOD],
  ["a payment's X-Hold-Token", 'pay', 'headers.x-hold-token', HOSTILE_HEADER],
  ["a payment's Idempotency-Key", 'pay', 'headers.idempotency-key', HOSTILE_HEADER],
  ["a payment's hold id", 'pay', 'params.holdId', HOSTILE_URL_UUID],
  ["a refund's order id", 'refund', 'params.orderId', HOSTILE_URL_UUID],
  ['a seed hold usuario_id', 'seedHold', 'body.usuario_id', HOSTILE_UUID],
  ['a seed hold assento_id', 'seedHold', 'body.assento_id', HOSTILE_UUID],
  ['a seed hold assento_ids item', 'seedHoldMany', 'body.assento_ids.0', HOSTILE_UUID],
  ["a seed hold's Idempotency-Key", 'seedHold', 'headers.idempotency-key', HOSTILE_HEADER],
  ['a seed confirmation usuario_id', 'seedConfirm', 'body.usuario_id', HOSTILE_UUID],
  ['a seed confirmation assento_id', 'seedConfirm', 'body.assento_id', HOSTILE_UUID],
  ['a seed payment usuario_id', 'seedPay', 'body.usuario_id', HOSTILE_UUID],
  ['a seed payment assento_id', 'seedPay', 'body.assento_id', HOSTILE_UUID],
  ['a seed payment method', 'seedPay', 'body.method', HOSTILE_METHOD],
  ['a seed payment card holderName', 'seedPay', 'body.card.holderName', HOSTILE_HOLDER_NAME],
  ['a seed payment card expYear', 'seedPay', 'body.card.expYear', int(2000, 2100)],
  ["a seed payment's Idempotency-Key", 'seedPay', 'headers.idempotency-key', HOSTILE_HEADER],
  ['a session list date=', 'listSessions', 'query.date', HOSTILE_URL_DAY],
  ['a session list movieId=', 'listSessions', 'query.movieId', HOSTILE_URL_UUID],
  ['a user list page=', 'listUsers', 'query.page', URL_INT],
  ['a user list pageSize=', 'listUsers', 'query.pageSize', URL_INT],
  ['a purchase history page=', 'myOrders', 'query.page', URL_INT],
  ['a purchase history pageSize=', 'myOrders', 'query.pageSize', URL_INT],
  ["a user's purchase history user id", 'userOrders', 'params.userId', HOSTILE_URL_UUID],
];

const TABLE = TARGETS.flatMap(([target, route, field, values]) =>
  values.map(([what, value, message]) => [target, what, field, route, value, message] as const),
);

describe('hostile input', () => {
  it.each(TABLE)(
    'when %s %s, then it answers 400 VALIDATION_FAILED naming %s',
    async (_target, _what, field, route, value, message) => {
      const res = await send(route, field, value);
      expect({ status: res.status, code: res.body?.error?.code }).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      const fields = res.body.error.fields as { field: string; message: string }[];
      expect([...new Set(fields.map((f) => f.field))]).toEqual([field]);
      expect(fields.map((f) => f.message).join('\n')).toMatch(message);
    },
  );

  it('when a path id is not valid percent-encoding (an encoded lone surrogate), then it answers 400, never 5xx', async () => {
    const res = await http().post('/api/v1/orders/%ED%A0%80/refund').set(api.adminAuth).expect(400);
    expect(res.body.error.code).toEqual(expect.any(String));
  });

  it('when a sign-in email grows past 254 characters when lower-cased, then it is a wrong email (401), not a 5xx', async () => {
    const res = await http()
      .post('/api/v1/auth/token')
      .send({ email: `${'İ'.repeat(200)}@example.com`, password: DEMO_PASSWORD })
      .expect(401);
    expect(res.body.error.code).toBe('INVALID_CREDENTIALS');
  });

  describe('a header holding a NUL byte, sent on a raw socket', () => {
    let server: Server;
    beforeAll(async () => {
      server = createServer(api.app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it("when X-Hold-Token holds a NUL byte, then Node's HTTP parser refuses it with 400 before any route runs", async () => {
      const { port } = server.address() as AddressInfo;
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(
            `POST /api/v1/holds/${held.holdId}/confirm HTTP/1.1\r\nHost: localhost\r\n` +
              `Authorization: ${asBuyer(held.userId).Authorization}\r\n` +
              `X-Hold-Token: ${held.holdToken}\u0000x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
            'latin1',
          );
        });
        let data = '';
        socket.on('data', (chunk) => (data += chunk.toString('latin1')));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    });
  });
});

describe('after every hostile request', () => {
  it('nothing stored changed: no user, movie, room, session, seat, order, payment or refresh token was added, no seat was held, both holds kept their stage, no idempotency record was written', async () => {
    expect(await storedState()).toEqual(before);
    expect(before.stages).toEqual({ held: 'held', confirmed: 'confirmed' });
  });
});

describe('valid unicode is still welcome', () => {
  it('when a buyer signs up with accents, emoji and a dotted capital I, then the name is kept (NFC) and the email is stored lower-case, and they sign in with any normalisation of it', async () => {
    const decomposed = 'Jose\u0301 da Sa\u0303o Paulo 😀 👩🏽‍💻 İlkay';
    const res = await http()
      .post('/api/v1/users')
      .send({
        name: decomposed,
        email: 'JOSÉ.São@Exämple.com',
        password: 'senha-çãõ-😀-longa',
        birthDate: '1900-01-01',
      })
      .expect(201);
    expect(res.body).toMatchObject({
      name: decomposed.normalize('NFC'),
      email: 'josé.são@exämple.com',
    });
    expect(res.body.name).toBe('José da São Paulo 😀 👩🏽‍💻 İlkay');
    // The decomposed spelling of the same address and the same password sign in.
    await http()
      .post('/api/v1/auth/token')
      .send({ email: 'jose\u0301.sa\u0303o@exämple.com', password: 'senha-çãõ-😀-longa' })
      .expect(200);
  });

  it('when a buyer was born today, then sign-up accepts the date', async () => {
    await http()
      .post('/api/v1/users')
      .send({
        name: 'Bebê',
        email: `bebe-${randomUUID()}@example.com`,
        password: 'a-long-password',
        birthDate: new Date().toISOString().slice(0, 10),
      })
      .expect(201);
  });

  it('when an admin adds a movie, a room and a session with unicode names, then they are stored as sent, and the last instant of 9999-12-30 is a valid start, listed under its day', async () => {
    const movie = (
      await http()
        .post('/api/v1/movies')
        .set(api.adminAuth)
        .send({
          title: 'Cidade de Deus — Edição Especial 🎬',
          durationMinutes: 130,
          rating: '16',
          synopsis: 'Primeira linha.\nSegunda linha,\tcom tabulação.\r\nFim ✨',
        })
        .expect(201)
    ).body;
    expect(movie).toMatchObject({
      title: 'Cidade de Deus — Edição Especial 🎬',
      synopsis: 'Primeira linha.\nSegunda linha,\tcom tabulação.\r\nFim ✨',
    });
    const room = (
      await http()
        .post('/api/v1/rooms')
        .set(api.adminAuth)
        .send({ name: 'Sala São Paulo 🍿', rows: 4, seatsPerRow: 4 })
        .expect(201)
    ).body;
    expect(room.name).toBe('Sala São Paulo 🍿');
    const session = (
      await http()
        .post('/api/v1/sessions')
        .set(api.adminAuth)
        .send({
          movieId: movie.id,
          roomId: room.id,
          startsAt: '9999-12-30T23:59:59.999Z',
          priceCents: 10_000_000,
        })
        .expect(201)
    ).body;
    const listed = await http()
      .get('/api/v1/sessions')
      .query({ movieId: movie.id, date: '9999-12-30' })
      .expect(200);
    expect(listed.body.map((s: { id: string }) => s.id)).toEqual([session.id]);
  });

  it('when a card holder name has accents, then the payment is accepted', async () => {
    const hold = await confirmedHold(api.app, users[4]!.id, dealer.freshSeats(1));
    await http()
      .post(`/api/v1/holds/${hold.holdId}/payment`)
      .set({ ...asBuyer(hold.userId), 'X-Hold-Token': hold.holdToken })
      .send({ method: 'credit_card', card: { ...validCard(), holderName: 'João Ñandú Çelik' } })
      .expect(202);
  });
});
