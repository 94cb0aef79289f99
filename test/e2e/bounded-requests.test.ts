/**
 * §4 and §4.1: what a public request may cost is bounded by the contract, not by what the client
 * sends. The session list is paginated by keyset with RFC 8288 Link headers and leaves out
 * sessions that have ended; an unknown session id is remembered; bodies over 64 KB are refused
 * before they are parsed; a validation answer lists at most 20 fields, and a body stuffed with
 * unknown keys is refused without walking them. Real Postgres and Redis.
 */
import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { MAX_LISTED_FIELDS } from '../../api/http/route';
import { startTestApi, type TestApi } from '../support/api';
import { startRealServer, type RealServer } from '../support/http-server';

let api: TestApi;
let server: RealServer;
let roomId: string;

beforeAll(async () => {
  api = await startTestApi();
  server = await startRealServer(api.app);
  roomId = (
    await request(api.app)
      .post('/api/v1/rooms')
      .set(api.adminAuth)
      .send({ name: 'Sala Limites', rows: 4, seatsPerRow: 4 })
      .expect(201)
  ).body.id;
});
afterAll(async () => {
  await server?.close();
  await api?.close();
});

const http = () => request(api.app);

async function movie(durationMinutes: number): Promise<string> {
  const res = await http()
    .post('/api/v1/movies')
    .set(api.adminAuth)
    .send({ title: `Movie ${randomUUID().slice(0, 8)}`, durationMinutes })
    .expect(201);
  return res.body.id;
}

async function sessionAt(movieId: string, startsAt: Date): Promise<string> {
  const res = await http()
    .post('/api/v1/sessions')
    .set(api.adminAuth)
    .send({ movieId, roomId, startsAt: startsAt.toISOString(), priceCents: 1500 })
    .expect(201);
  return res.body.id;
}

const minutesFromNow = (minutes: number) => new Date(Date.now() + minutes * 60_000);

/** Follows rel="next" links from `path` to the end: every id listed, in order, and the pages. */
async function walk(path: string) {
  const ids: string[] = [];
  let pages = 0;
  let next: string | undefined = path;
  while (next) {
    const res: request.Response = await http().get(next).expect(200);
    pages++;
    ids.push(...res.body.map((s: { id: string }) => s.id));
    next = /^<([^>]+)>; rel="next"$/.exec(res.headers.link ?? '')?.[1];
  }
  return { ids, pages };
}

describe('the session list', () => {
  it('when a session has ended, then it is not listed, while a running one is; a past day asked for by date lists its ended sessions', async () => {
    const film = await movie(90);
    const ended = await sessionAt(film, minutesFromNow(-2 * 24 * 60));
    const running = await sessionAt(film, minutesFromNow(-30));
    const listed = (await http().get('/api/v1/sessions').query({ movieId: film }).expect(200)).body;
    expect(listed.map((s: { id: string }) => s.id)).toEqual([running]);

    const day = minutesFromNow(-2 * 24 * 60)
      .toISOString()
      .slice(0, 10);
    const pastDay = (await http().get('/api/v1/sessions').query({ movieId: film, date: day })).body;
    expect(pastDay.map((s: { id: string }) => s.id)).toEqual([ended]);
  });

  it('when a list is longer than limit, then each page has at most limit sessions and the Link next pages walk it all, soonest first, none twice or missing', async () => {
    const film = await movie(100);
    // Two sessions at the same instant: the keyset's id breaks the tie.
    const sameTime = minutesFromNow(600);
    const created = await Promise.all([
      sessionAt(film, sameTime),
      sessionAt(film, sameTime),
      ...[60, 120, 180, 240, 300].map((m) => sessionAt(film, minutesFromNow(m))),
    ]);
    const whole = (await http().get('/api/v1/sessions').query({ movieId: film, limit: 500 }))
      .body as { id: string; startsAt: string; seatsAvailable: number }[];
    expect(whole.map((s) => s.id).sort()).toEqual([...created].sort());
    expect(whole.every((s) => s.seatsAvailable === 16)).toBe(true);

    const first = await http().get('/api/v1/sessions').query({ movieId: film, limit: 2 });
    expect(first.body).toHaveLength(2);
    expect(first.headers.link).toMatch(/^<\/api\/v1\/sessions\?[^>]*limit=2[^>]*>; rel="next"$/);
    const walked = await walk(`/api/v1/sessions?movieId=${film}&limit=2`);
    expect(walked.ids).toEqual(whole.map((s) => s.id));
    expect(walked.pages).toBe(4);

    // Every seeded and created session, one at a time... within a bound of pages.
    const all = await walk('/api/v1/sessions?limit=3');
    expect(new Set(all.ids).size).toBe(all.ids.length);
    expect(all.ids).toEqual(expect.arrayContaining(created));
  });

  it('when limit is over 500, or after is not a position from a link, then the list is 400', async () => {
    for (const query of [{ limit: 501 }, { limit: 0 }, { after: 'garbage' }, { after: 'W10' }]) {
      const res = await http().get('/api/v1/sessions').query(query).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('when an unknown session id is asked for twice, then the second ask makes no database query, and a new session is found at once', async () => {
    const connection = api.db.orm.em.getConnection();
    const execute = jest.spyOn(connection, 'execute');
    try {
      const unknown = randomUUID();
      await http().get(`/api/v1/sessions/${unknown}`).expect(404);
      expect(execute).toHaveBeenCalled();
      execute.mockClear();
      await http().get(`/api/v1/sessions/${unknown}`).expect(404);
      await http().get(`/api/v1/sessions/${unknown}/seats/stream`).expect(404);
      expect(execute).not.toHaveBeenCalled();
    } finally {
      execute.mockRestore();
    }
    const film = await movie(90);
    const created = await sessionAt(film, minutesFromNow(60));
    await http().get(`/api/v1/sessions/${created}`).expect(200);
  });
});

/** A sign-up body (public route) with `extra` keys and a name padded to `bytes` in all. */
function signUpBody(bytes: number, extra: Record<string, unknown> = {}): string {
  const base = { email: `${randomUUID()}@example.com`, password: 'a-long-password', ...extra };
  const shell = JSON.stringify({ ...base, name: '' });
  return JSON.stringify({ ...base, name: 'x'.repeat(Math.max(0, bytes - shell.length)) });
}

const usersTotal = async () =>
  (await http().get('/api/v1/users').set(api.adminAuth).expect(200)).body.total as number;

const manyKeys = (count: number) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, 0]));

describe('request bodies', () => {
  it('when a JSON body is 64 KB + 1, then it is 413 PAYLOAD_TOO_LARGE with the error envelope, and nothing is stored', async () => {
    const before = await usersTotal();
    const body = signUpBody(64 * 1024 + 1);
    expect(Buffer.byteLength(body)).toBe(64 * 1024 + 1);
    const res = await http()
      .post('/api/v1/users')
      .set('Content-Type', 'application/json')
      .send(body)
      .expect(413);
    expect(res.body.error).toEqual({ code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) });
    // Exactly 64 KB is parsed (and is a valid sign-up: the name is merely too long).
    const atLimit = await http()
      .post('/api/v1/users')
      .set('Content-Type', 'application/json')
      .send(signUpBody(64 * 1024));
    expect(atLimit.status).toBe(400);
    expect(await usersTotal()).toBe(before);
  });

  it('when an oversized body comes chunked, without a Content-Length, then it is 413 all the same', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server.baseUrl}/api/v1/users`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      const body = signUpBody(200 * 1024);
      for (let i = 0; i < body.length; i += 8 * 1024) req.write(body.slice(i, i + 8 * 1024));
      req.end();
    });
    expect(status).toBe(413);
  });

  it('when a body has 100 000 keys, then it is 413 before it is parsed, and the connection ends with the answer (the rest of the upload is not read)', async () => {
    const res = await http()
      .post('/api/v1/users')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(manyKeys(100_000)))
      .expect(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.headers.connection).toBe('close');
  });

  it('when a body under 64 KB has thousands of unknown keys, then the 400 is small and lists at most 20 fields, and nothing is stored', async () => {
    const before = await usersTotal();
    const body = signUpBody(60 * 1024, manyKeys(5_000));
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(64 * 1024);
    const res = await http()
      .post('/api/v1/users')
      .set('Content-Type', 'application/json')
      .send(body)
      .expect(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.fields.length).toBeGreaterThan(0);
    expect(res.body.error.fields.length).toBeLessThanOrEqual(MAX_LISTED_FIELDS);
    expect(Buffer.byteLength(res.text)).toBeLessThan(2_048);
    expect(await usersTotal()).toBe(before);
  });

  it('when a body has more invalid fields than 20, then the 400 lists 20 and says how many more there were', async () => {
    const res = await http()
      .post('/api/v1/users')
      .send({ name: 'Ana', email: 'ana@example.com', password: 'a-long-password', ...manyKeys(50) })
      .expect(400);
    expect(res.body.error.fields).toHaveLength(MAX_LISTED_FIELDS);
    expect(res.body.error.fieldsNotListed).toBe(50 - MAX_LISTED_FIELDS);
  });

  it('when a query string carries thousands of parameters, then only the first few are read and the answer is small', async () => {
    const query = Array.from({ length: 1_500 }, (_, i) => `p${i}=1`).join('&');
    const res = await http().get(`/api/v1/sessions?${query}`).expect(400);
    expect(res.body.error.fields.length).toBeLessThanOrEqual(MAX_LISTED_FIELDS);
    expect(Buffer.byteLength(res.text)).toBeLessThan(2_048);
  });
});
