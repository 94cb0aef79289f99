import type { SeatRow } from '../catalogue/seat-layout';

/**
 * Best available (§4.8): which seats a request for `quantity` seats gets, written once, here, as
 * a pure function. scripts/hold-best-seats.lua makes the same choice inside Redis (it has to:
 * the choice and the hold are one atomic step); test/integration/best-seats-script.test.ts runs
 * both on random rooms and checks they agree.
 *
 * A block is `size` seats in consecutive columns of one row, all free (an aisle or a taken seat
 * ends it). Blocks are compared by, in order:
 *
 * 1. `orphans`: how many single empty seats it leaves beside it, between it and a taken seat, an
 *    aisle or the row's end (0 to 2). Fewer wins.
 * 2. `strands`: how many parts of its free run it leaves that groups of its size would strand a
 *    seat in (length ≡ 1 mod size), counting only those it creates: the run itself may have
 *    been one already (0 to 2; always 0 for size 1). Fewer wins. Pairs in an empty 20-seat row
 *    thus take seats 9-10 (leaving 8 and 10), not 10-11 (leaving 9 and 9, a seat in each half
 *    that pairs can never fill).
 * 3. `score`: closeness to the room's best point, the middle of the row two thirds of the way
 *    back: the sum over its seats of the squared distance, in seat widths and row depths, from
 *    (x̄, ȳ), where x is the seat's column, x̄ the middle of the row (halfway between its first
 *    and last seat), y the row's index (row A = 0) and ȳ = 2/3 × (rows - 1). Computed times 36
 *    so it is an exact integer in both languages: 9 (2x - first - last)² + 4 (3y - 2 (rows - 1))².
 *    Lower wins.
 * 4. the row further back, then 5. the lower column (the block further left).
 *
 * `together: true` takes the best block of `quantity` seats. `together: false` takes `quantity`
 * single seats one after the other, each the best block of one given those already taken.
 */
export interface BlockChoice {
  /** Row index from the screen: row A is 0. */
  row: number;
  /** Column index of the block's first seat (0 = the row's left end). */
  start: number;
  size: number;
  orphans: number;
  strands: number;
  score: number;
}

/** Negative when `a` is the better choice. */
export function compareChoices(a: BlockChoice, b: BlockChoice): number {
  return (
    a.orphans - b.orphans ||
    a.strands - b.strands ||
    a.score - b.score ||
    b.row - a.row ||
    a.start - b.start
  );
}

/** Seat ids in room order (front row first, left to right), or null when nothing fits. */
export function bestSeats(
  rows: readonly SeatRow[],
  taken: ReadonlySet<string>,
  quantity: number,
  together: boolean,
): string[] | null {
  const free = rows.map((row) => row.map((id) => id !== null && !taken.has(id)));
  const picked: { row: number; column: number }[] = [];
  for (const size of together ? [quantity] : Array<number>(quantity).fill(1)) {
    const choice = bestBlock(rows, free, size);
    if (!choice) return null;
    for (let column = choice.start; column < choice.start + size; column++) {
      free[choice.row]![column] = false;
      picked.push({ row: choice.row, column });
    }
  }
  return picked
    .sort((a, b) => a.row - b.row || a.column - b.column)
    .map(({ row, column }) => rows[row]![column]!);
}

/** Every block of `size` free seats in the room, scored; the best, or null when none fits. */
export function bestBlock(
  rows: readonly SeatRow[],
  free: readonly (readonly boolean[])[],
  size: number,
): BlockChoice | null {
  let best: BlockChoice | null = null;
  for (const choice of rows.flatMap((row, y) => blocksOfRow(row, free[y]!, y, rows.length, size))) {
    if (!best || compareChoices(choice, best) < 0) best = choice;
  }
  return best;
}

/** The 36-times squared distance of the seat in column `x` of row `y` from the best point. */
export function seatScore(row: SeatRow, x: number, y: number, rowCount: number): number {
  const first = row.findIndex((id) => id !== null);
  const last = row.length - 1 - [...row].reverse().findIndex((id) => id !== null);
  const dx = 2 * x - first - last;
  const dy = 3 * y - 2 * (rowCount - 1);
  return 9 * dx * dx + 4 * dy * dy;
}

function blocksOfRow(
  row: SeatRow,
  free: readonly boolean[],
  y: number,
  rowCount: number,
  size: number,
): BlockChoice[] {
  const choices: BlockChoice[] = [];
  const strandsIn = (length: number) => (size > 1 && length % size === 1 ? 1 : 0);
  for (let a = 0; a < row.length; a++) {
    if (!free[a]) continue;
    let b = a;
    while (b + 1 < row.length && free[b + 1]) b++;
    // [a, b] is a free run: every block inside it is a candidate.
    for (let start = a; start + size - 1 <= b; start++) {
      const [left, right] = [start - a, b - (start + size - 1)];
      let score = 0;
      for (let x = start; x < start + size; x++) score += seatScore(row, x, y, rowCount);
      choices.push({
        row: y,
        start,
        size,
        orphans: (left === 1 ? 1 : 0) + (right === 1 ? 1 : 0),
        strands: Math.max(0, strandsIn(left) + strandsIn(right) - strandsIn(b - a + 1)),
        score,
      });
    }
    a = b;
  }
  return choices;
}
