/**
 * Single-seat holds by seat id as an ordinary evening looks: round-robin over a hundred 200-seat
 * sessions (SpreadDealer), by the first EVENING_BUYERS buyers, each with their own token.
 */
import { asBuyer, type BenchData, type SpreadDealer } from '../support/data';
import { PORTS } from '../support/environment';
import { figures, postJson, type Figures } from '../support/measure';

const EVENING_BUYERS = 500;

export async function holdsBySeatId(data: BenchData, dealer: SpreadDealer): Promise<Figures> {
  const buyers = data.users.slice(0, EVENING_BUYERS);
  let i = 0;
  return figures(
    await postJson(`http://127.0.0.1:${PORTS.api}/api/v1/holds`, () =>
      asBuyer(data, buyers[i++ % buyers.length]!, { seatIds: [dealer.next()] }),
    ),
  );
}
