/** Single-seat holds by seat id, on seats nobody holds. */
import { asBuyer, type BenchData, type SeatDealer } from '../support/data';
import { PORTS } from '../support/environment';
import { figures, postJson, type Figures } from '../support/measure';

export async function holdsBySeatId(data: BenchData, dealer: SeatDealer): Promise<Figures> {
  let i = 0;
  return figures(
    await postJson(`http://127.0.0.1:${PORTS.api}/api/v1/holds`, () =>
      asBuyer(data, data.users[i++ % data.users.length]!, { seatIds: [dealer.next()] }),
    ),
  );
}
