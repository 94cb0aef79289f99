/**
 * §4 and §4.1: what a public request may cost is bounded by the contract, not by what the client
 * sends. The session list is paginated by keyset with RFC 8288 Link headers and leaves out
 * sessions that have ended; an unknown session id is remembered. Real Postgres and Redis.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
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
