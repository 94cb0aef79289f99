import { asBuyer, type BenchData, type SeatDealer } from '../support/data';
import { PORTS } from '../support/environment';
import { figures, postJson, type Figures } from '../support/measure';

/**
 * Best-available holds (`{sessionId, quantity: 1}`): the script picks the seat. Spread over
 * fresh sessions so none runs out of seats during the run, like the holds by seatIds above.
 */
export async function bestAvailable(data: BenchData, dealer: SeatDealer): Promise<Figures> {
  const sessions = Array.from({ length: 8 }, () => dealer.freshSession().sessionId);
  let i = 0;
  return figures(
    await postJson(`http://127.0.0.1:${PORTS.api}/api/v1/holds`, () =>
      asBuyer(data, data.users[i % data.users.length]!, {
        sessionId: sessions[i++ % sessions.length],
        quantity: 1,
      }),
    ),
  );
}
