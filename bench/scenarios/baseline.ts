/** The physical references: bare Express 5 apps doing one Redis command per request. */
import autocannon from 'autocannon';
import { type BenchData } from '../support/data';
import { DURATION, PORTS } from '../support/environment';
import { figures, postJson, type Figures } from '../support/measure';

export async function baseline(data: BenchData): Promise<Figures> {
  let i = 0;
  return figures(
    await postJson(`http://127.0.0.1:${PORTS.baseline}/hold`, () => ({
      body: { userId: data.users[i++ % data.users.length] },
    })),
  );
}

/**
 * The ceiling of a seat map here: a bare Express 5 app doing one Redis `GET` (what a cached seat
 * map costs in Redis) and sending the very bytes the API answers for the bench's seat map. What
 * the seat map loses against it is the API's own work; what this loses against the baseline is
 * the answer's size, on both ends of the same two cores.
 */
export async function seatMapCeiling(data: BenchData): Promise<Figures> {
  const base = `http://127.0.0.1:${PORTS.baseline}/seat-map`;
  const answer = await fetch(
    `http://127.0.0.1:${PORTS.api}/api/v1/sessions/${data.seatMapSession.id}`,
  );
  const bytes = Buffer.from(await answer.arrayBuffer());
  await fetch(base, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: bytes,
  });
  const served = Buffer.from(await (await fetch(base)).arrayBuffer());
  if (!served.equals(bytes)) throw new Error('the seat-map ceiling does not serve the same bytes');
  return figures(await autocannon({ url: base, connections: 50, duration: DURATION }));
}
