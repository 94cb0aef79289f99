import request from 'supertest';
import { SeatMapCache } from '../../shared/catalogue/seat-map-cache';
import { seatKeysOf, type SeatStatus } from '../../shared/catalogue/seat-status';
import { seatKey, seatMapVersionKey } from '../../shared/holds/keys';
import { holdScripts } from '../../shared/holds/scripts';
import { startTestApi, type TestApi } from '../support/api';
import { asOwnerOf } from '../support/buyers';
import { Dealer, holdSeats, seededCinema, type SeatMap } from '../support/cinema';
import { waitFor } from '../support/wait';

const HOLD_TTL_MS = 1_000;

/** No worker runs here: nothing but the hold scripts and Redis's own TTLs changes a seat. */
let api: TestApi;
let session: SeatMap;
let dealer: Dealer;

beforeAll(async () => {
  api = await startTestApi({ HOLD_TTL_SECONDS: String(HOLD_TTL_MS / 1000) });
  const cinema = await seededCinema(api.app);
  session = cinema.big;
  dealer = new Dealer(session.seats, cinema.users);
});
afterAll(async () => {
  await api?.close();
});

const statusesOf = async (seatIds: string[]) => {
  const map = (await request(api.app).get(`/api/v1/sessions/${session.id}`).expect(200)).body;
  return seatIds.map((id) => map.seats.find((s: { id: string }) => s.id === id).status);
};

/** A cache of its own around the API's Redis, counting how often it reads the seats afresh. */
function countingCache() {
  const cache = new SeatMapCache(api.redis, holdScripts(api.redis));
  const keys = seatKeysOf(
    session.id,
    session.seats.map((s) => s.id),
  );
  const renders: SeatStatus[][] = [];
  const read = () =>
    cache.json(session.id, keys, (statuses) => {
      renders.push(statuses);
      return { statuses };
    });
  return { read, renders };
}

describe('seat map cache', () => {
  it('when nothing changed since the last read, then the same answer is served without reading the seats again; a hold makes the next read fresh', async () => {
    // A first hold gives the session a version (a session without one is never cached).
    await holdSeats(api.app, dealer.someUser(), dealer.freshSeats(1));
    const { read, renders } = countingCache();
    const first = await read();
    const again = await read();
    expect(again).toBe(first);
    expect(renders).toHaveLength(1);

    const [seat] = dealer.freshSeats(1);
    const index = session.seats.findIndex((s) => s.id === seat);
    await holdSeats(api.app, dealer.someUser(), [seat!]);
    const after = await read();
    expect(renders).toHaveLength(2);
    expect(renders[0]![index]).toBe('available');
    expect(renders[1]![index]).toBe('held');
    expect(JSON.parse(after.toString()).statuses[index]).toBe('held');
  });

  it('when many requests find the map changed at once, then they share one read of it', async () => {
    await holdSeats(api.app, dealer.someUser(), dealer.freshSeats(1));
    const { read, renders } = countingCache();
    await read();
    await holdSeats(api.app, dealer.someUser(), dealer.freshSeats(1));
    const answers = await Promise.all(Array.from({ length: 20 }, read));
    expect(renders).toHaveLength(2);
    expect(new Set(answers).size).toBe(1);
  });

  it('when a session has no seat-map version, then every read is fresh', async () => {
    await api.redis.del(seatMapVersionKey(session.id));
    const { read, renders } = countingCache();
    await read();
    await read();
    expect(renders).toHaveLength(2);
  });

  it('when a seat is held or released through the API after the map was read, then the next map shows it at once', async () => {
    const [seat] = dealer.freshSeats(1);
    expect(await statusesOf([seat!])).toEqual(['available']);
    const hold = await holdSeats(api.app, dealer.someUser(), [seat!]);
    expect(await statusesOf([seat!])).toEqual(['held']);
    await request(api.app).delete(`/api/v1/holds/${hold.holdId}`).set(asOwnerOf(hold)).expect(204);
    expect(await statusesOf([seat!])).toEqual(['available']);
  });

  it("when a held seat's TTL runs out and no cleanup job has run, then the map shows it available as soon as Redis does", async () => {
    const [seat] = dealer.freshSeats(1);
    await holdSeats(api.app, dealer.someUser(), [seat!]);
    expect(await statusesOf([seat!])).toEqual(['held']);
    // The map is cached now, and no script will bump the version: only the deadline can tell.
    const version = await api.redis.get(seatMapVersionKey(session.id));
    await waitFor(async () => (await api.redis.exists(seatKey(session.id, seat!))) === 0, {
      timeoutMs: HOLD_TTL_MS + 4_000,
      what: 'the seat key to expire',
    });
    expect(await statusesOf([seat!])).toEqual(['available']);
    expect(await api.redis.get(seatMapVersionKey(session.id))).toBe(version);
  });
});
