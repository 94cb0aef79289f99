import request from 'supertest';
import { startTestApi, type TestApi } from '../support/api';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api.close();
});

const http = () => request(api.app);

describe('users', () => {
  it('lists the seeded users, a page at a time, with id, name and email only, to an admin only', async () => {
    await http().get('/api/v1/users').expect(401);
    const res = await http().get('/api/v1/users').set(api.adminAuth).expect(200);
    expect(res.body).toMatchObject({ page: 1, pageSize: 100 });
    expect(res.body.total).toBeGreaterThanOrEqual(10);
    expect(Object.keys(res.body.items[0]).sort()).toEqual(['email', 'id', 'name']);
    const page = await http()
      .get('/api/v1/users')
      .query({ page: 2, pageSize: 3 })
      .set(api.adminAuth)
      .expect(200);
    expect(page.body.items).toEqual(res.body.items.slice(3, 6));
  });

  it('when someone signs up, then they appear in the user list', async () => {
    const res = await http()
      .post('/api/v1/users')
      .send({
        name: 'Nova Pessoa',
        email: 'Nova@Example.com',
        password: 'a-long-password',
        birthDate: '2000-02-29',
      })
      .expect(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      name: 'Nova Pessoa',
      email: 'nova@example.com',
    });
    const list = await http().get('/api/v1/users').set(api.adminAuth).expect(200);
    expect(list.body.items).toContainEqual(res.body);
  });

  it('when an email is already taken (in any case), then sign-up answers 409 EMAIL_TAKEN', async () => {
    const res = await http()
      .post('/api/v1/users')
      .send({ name: 'Outra Ana', email: 'ANA.SOUZA@example.com', password: 'a-long-password' })
      .expect(409);
    expect(res.body.error.code).toBe('EMAIL_TAKEN');
  });

  it.each([
    [{}, ['body.name', 'body.email', 'body.password']],
    [{ name: 'x', email: 'not-an-email', password: 'a-long-password' }, ['body.email']],
    [{ name: 'x', email: 'a@b.co', password: 'short' }, ['body.password']],
    [{ name: 'x', email: 'a@b.co', password: 'x'.repeat(129) }, ['body.password']],
    [
      { name: 'x', email: 'a@b.co', password: 'a-long-password', birthDate: '2023-02-30' },
      ['body.birthDate'],
    ],
    [
      { name: 'x', email: 'a@b.co', password: 'a-long-password', birthDate: '2999-01-01' },
      ['body.birthDate'],
    ],
    [{ name: 'x', email: 'a@b.co', password: 'a-long-password', admin: true }, ['body.admin']],
  ])('when sign-up gets %j, then it answers 400 naming %j', async (body, fields) => {
    const res = await http().post('/api/v1/users').send(body).expect(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual(
      fields.sort(),
    );
  });
});

describe('movies and rooms', () => {
  it('lists movies publicly', async () => {
    const res = await http().get('/api/v1/movies').expect(200);
    expect(res.body.map((m: { title: string }) => m.title)).toEqual(
      expect.arrayContaining(['Filme X', 'Filme Y']),
    );
  });

  it('when no admin token is sent, then catalogue writes answer 401, and 403 with a wrong one', async () => {
    const movie = { title: 'Sem Token', durationMinutes: 90 };
    expect((await http().post('/api/v1/movies').send(movie).expect(401)).body.error.code).toBe(
      'UNAUTHENTICATED',
    );
    await http()
      .post('/api/v1/movies')
      .set('Authorization', 'Bearer wrong-token-wrong-token')
      .send(movie)
      .expect(403);
    await http().post('/api/v1/rooms').send({ name: 'R', rows: 4, seatsPerRow: 4 }).expect(401);
    await http().post('/api/v1/sessions').send({}).expect(401);
    const titles = (await http().get('/api/v1/movies')).body.map((m: { title: string }) => m.title);
    expect(titles).not.toContain('Sem Token');
  });

  it('when an admin adds a movie, then it is listed', async () => {
    const res = await http()
      .post('/api/v1/movies')
      .set(api.adminAuth)
      .send({ title: 'Filme Novo', durationMinutes: 110, rating: '12' })
      .expect(201);
    expect(res.body).toMatchObject({
      title: 'Filme Novo',
      durationMinutes: 110,
      rating: '12',
      synopsis: null,
    });
    const list = await http().get('/api/v1/movies').expect(200);
    expect(list.body).toContainEqual(res.body);
  });

  it('when a room would have fewer than 16 seats, then it is refused with 400 and not created', async () => {
    const res = await http()
      .post('/api/v1/rooms')
      .set(api.adminAuth)
      .send({ name: 'Sala Mini', rows: 3, seatsPerRow: 5 })
      .expect(400);
    expect(res.body.error).toMatchObject({ code: 'ROOM_TOO_SMALL', seats: 15 });
    const rooms = (await http().get('/api/v1/rooms').expect(200)).body;
    expect(rooms.map((r: { name: string }) => r.name)).not.toContain('Sala Mini');
  });

  it('when a room exceeds 50 rows or 50 seats per row, then it is refused with 400', async () => {
    await http()
      .post('/api/v1/rooms')
      .set(api.adminAuth)
      .send({ name: 'G', rows: 51, seatsPerRow: 10 })
      .expect(400);
    await http()
      .post('/api/v1/rooms')
      .set(api.adminAuth)
      .send({ name: 'G', rows: 10, seatsPerRow: 51 })
      .expect(400);
  });

  it('when two rooms share a name, then the second answers 409', async () => {
    await http()
      .post('/api/v1/rooms')
      .set(api.adminAuth)
      .send({ name: 'Sala 1', rows: 4, seatsPerRow: 4 })
      .expect(409);
  });
});

describe('sessions', () => {
  const findMovie = async (title: string) =>
    (await http().get('/api/v1/movies')).body.find((m: { title: string }) => m.title === title);

  it('lists the seeded sessions with live availability, and Filme X at 19:00 BRT for R$ 25,00', async () => {
    const res = await http().get('/api/v1/sessions').expect(200);
    expect(res.body.length).toBeGreaterThanOrEqual(3);
    const filmeX = res.body.find(
      (s: { movie: { title: string }; seatsTotal: number }) =>
        s.movie.title === 'Filme X' && s.seatsTotal === 16,
    );
    expect(filmeX).toMatchObject({
      priceCents: 2500,
      currency: 'BRL',
      seatsAvailable: 16,
      room: { name: 'Sala 1' },
    });
    expect(new Date(filmeX.startsAt).getUTCHours()).toBe(22);
    const starts = res.body.map((s: { startsAt: string }) => s.startsAt);
    expect([...starts].sort()).toEqual(starts);
  });

  it('filters sessions by movie and by day', async () => {
    const filmeY = await findMovie('Filme Y');
    const byMovie = await http().get('/api/v1/sessions').query({ movieId: filmeY.id }).expect(200);
    expect(byMovie.body.length).toBeGreaterThan(0);
    expect(byMovie.body.every((s: { movie: { id: string } }) => s.movie.id === filmeY.id)).toBe(
      true,
    );

    const day = byMovie.body[0].startsAt.slice(0, 10);
    const byDay = await http().get('/api/v1/sessions').query({ date: day }).expect(200);
    expect(byDay.body.every((s: { startsAt: string }) => s.startsAt.startsWith(day))).toBe(true);
    const none = await http().get('/api/v1/sessions').query({ date: '1999-01-01' }).expect(200);
    expect(none.body).toEqual([]);
  });

  it('refuses a malformed filter with 400', async () => {
    await http().get('/api/v1/sessions').query({ date: '2024-13-01' }).expect(400);
    await http().get('/api/v1/sessions').query({ movieId: 'abc' }).expect(400);
  });

  it('when an admin creates a session, then it has one seat per room seat, all available', async () => {
    const room = (
      await http()
        .post('/api/v1/rooms')
        .set(api.adminAuth)
        .send({ name: 'Sala 3', rows: 5, seatsPerRow: 6 })
        .expect(201)
    ).body;
    const movie = await findMovie('Filme Y');
    const created = await http()
      .post('/api/v1/sessions')
      .set(api.adminAuth)
      .send({
        movieId: movie.id,
        roomId: room.id,
        startsAt: '2030-05-01T20:00:00Z',
        priceCents: 1800,
      })
      .expect(201);
    expect(created.body).toMatchObject({
      startsAt: '2030-05-01T20:00:00.000Z',
      priceCents: 1800,
      currency: 'BRL',
      seatsTotal: 30,
      seatsAvailable: 30,
      room: { id: room.id, name: 'Sala 3' },
      movie: { id: movie.id, title: 'Filme Y' },
    });
    const map = await http().get(`/api/v1/sessions/${created.body.id}`).expect(200);
    expect(map.body.seats).toHaveLength(30);
    expect(map.body.seats[0]).toEqual({
      id: expect.any(String),
      label: 'A1',
      row: 'A',
      number: 1,
      status: 'available',
    });
    expect(map.body.seats[29].label).toBe('E6');
    const listed = await http().get('/api/v1/sessions').query({ date: '2030-05-01' }).expect(200);
    expect(listed.body.map((s: { id: string }) => s.id)).toContain(created.body.id);
  });

  it('when a session names an unknown movie or room, then it answers 404', async () => {
    const room = (await http().get('/api/v1/rooms')).body[0];
    const res = await http()
      .post('/api/v1/sessions')
      .set(api.adminAuth)
      .send({
        movieId: '00000000-0000-4000-8000-000000000000',
        roomId: room.id,
        startsAt: '2030-01-01T10:00:00Z',
        priceCents: 100,
      })
      .expect(404);
    expect(res.body.error.code).toBe('MOVIE_NOT_FOUND');
  });

  it('when a seat is held or sold in Redis, then the seat map shows it at once', async () => {
    const [session] = (await http().get('/api/v1/sessions')).body;
    const before = await http().get(`/api/v1/sessions/${session.id}`).expect(200);
    const [first, second] = before.body.seats;
    await api.redis.set(`seat:{${session.id}}:${first.id}`, 'some-hold-id', 'EX', 60);
    await api.redis.set(`seat:{${session.id}}:${second.id}`, 'sold:some-order-id');
    // Whatever changes a seat bumps the session's seat-map version, as every hold script does.
    const bumpVersion = () => api.redis.incr(`seatmap-version:{${session.id}}`);
    await bumpVersion();
    const after = await http().get(`/api/v1/sessions/${session.id}`).expect(200);
    expect(after.body.seats[0].status).toBe('held');
    expect(after.body.seats[1].status).toBe('sold');
    expect(after.body.seatsAvailable).toBe(before.body.seatsAvailable - 2);
    const listed = (await http().get('/api/v1/sessions')).body.find(
      (s: { id: string }) => s.id === session.id,
    );
    expect(listed.seatsAvailable).toBe(before.body.seatsAvailable - 2);
    await api.redis.del(`seat:{${session.id}}:${first.id}`, `seat:{${session.id}}:${second.id}`);
    await bumpVersion();
    const freed = await http().get(`/api/v1/sessions/${session.id}`).expect(200);
    expect(freed.body.seats[0].status).toBe('available');
  });

  it('answers 404 for an unknown session and 400 for a malformed id', async () => {
    const res = await http()
      .get('/api/v1/sessions/00000000-0000-4000-8000-000000000000')
      .expect(404);
    expect(res.body.error.code).toBe('SESSION_NOT_FOUND');
    await http().get('/api/v1/sessions/not-a-uuid').expect(400);
  });
});

describe('seed-compatible routes', () => {
  it('GET /seed/users lists the users GET /api/v1/users lists, as the seed did (a plain array)', async () => {
    const [seed, v1] = await Promise.all([
      http().get('/seed/users'),
      http().get('/api/v1/users').query({ pageSize: 100 }).set(api.adminAuth),
    ]);
    expect(seed.status).toBe(200);
    expect(seed.body).toEqual(v1.body.items);
  });

  it('GET /sessao/todas lists every session with its seats and live status', async () => {
    const res = await http().get('/sessao/todas').expect(200);
    const sessions = (await http().get('/api/v1/sessions')).body;
    expect(res.body.map((s: { id: string }) => s.id)).toEqual(
      sessions.map((s: { id: string }) => s.id),
    );
    for (const s of res.body) {
      expect(s.seats).toHaveLength(s.seatsTotal);
      expect(s.seats.every((seat: { status: string }) => seat.status === 'available')).toBe(true);
    }
  });
});
