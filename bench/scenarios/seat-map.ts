/** The seat map of the 200-seat session, read while four loops hold and release its seats. */
import autocannon from 'autocannon';
import type { BenchData } from '../support/data';
import { DURATION, PORTS } from '../support/environment';
import { figures, type Figures } from '../support/measure';

/** Holds and releases seats of the seat-map session while it is being read. */
export function churn(data: BenchData, api: string) {
  let running = true;
  let operations = 0;
  const loop = async () => {
    while (running) {
      const seat =
        data.seatMapSession.seatIds[Math.floor(Math.random() * data.seatMapSession.seatIds.length)];
      const user = data.users[Math.floor(Math.random() * data.users.length)];
      const authorization = data.bearer.get(user!)!;
      const res = await fetch(`${api}/api/v1/holds`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ seatIds: [seat] }),
      });
      const body = (await res.json()) as { holdId?: string; holdToken?: string };
      if (res.status === 201) {
        await fetch(`${api}/api/v1/holds/${body.holdId}`, {
          method: 'DELETE',
          headers: { authorization, 'x-hold-token': body.holdToken! },
        });
      }
      operations++;
    }
  };
  const loops = Array.from({ length: 4 }, loop);
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return operations;
    },
  };
}

export async function seatMap(data: BenchData): Promise<Figures & { churnOperations: number }> {
  const api = `http://127.0.0.1:${PORTS.api}`;
  const churning = churn(data, api);
  const result = await autocannon({
    url: `${api}/api/v1/sessions/${data.seatMapSession.id}`,
    connections: 50,
    duration: DURATION,
  });
  return { ...figures(result), churnOperations: await churning.stop() };
}
