/** The physical reference: a bare Express 5 app doing one Redis `SET NX EX` per request. */
import { type BenchData } from '../support/data';
import { PORTS } from '../support/environment';
import { figures, postJson, type Figures } from '../support/measure';

export async function baseline(data: BenchData): Promise<Figures> {
  let i = 0;
  return figures(
    await postJson(`http://127.0.0.1:${PORTS.baseline}/hold`, () => ({
      body: { userId: data.users[i++ % data.users.length] },
    })),
  );
}
