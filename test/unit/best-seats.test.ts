import { rowName, seatLayout, seatRows, type SeatRow } from '../../shared/catalogue/seat-layout';
import { bestBlock, bestSeats, compareChoices, seatScore } from '../../shared/holds/best-seats';

/**
 * A room drawn row by row, front row (A) first: `.` a free seat, `x` a taken one, a space a column
 * without a seat (an aisle). Seat ids are their labels, e.g. `C7` (column 7 of row C).
 */
function room(...lines: string[]) {
  const taken = new Set<string>();
  const rows: SeatRow[] = lines.map((line, y) =>
    [...line].map((cell, x) => {
      if (cell === ' ') return null;
      const id = `${rowName(y)}${x + 1}`;
      if (cell === 'x') taken.add(id);
      return id;
    }),
  );
  return {
    rows,
    taken,
    best: (quantity: number, together = true) => bestSeats(rows, taken, quantity, together),
  };
}

const empty = (rows: number, seatsPerRow: number) =>
  room(...Array<string>(rows).fill('.'.repeat(seatsPerRow)));

describe('seatRows', () => {
  it('when a session has a 3×4 room, then it gives 3 rows of 4 seats, front row first', () => {
    const seats = seatLayout(3, 4).map((s) => ({ ...s, id: s.label }));
    expect(seatRows([...seats].reverse())).toEqual([
      ['A1', 'A2', 'A3', 'A4'],
      ['B1', 'B2', 'B3', 'B4'],
      ['C1', 'C2', 'C3', 'C4'],
    ]);
  });

  it('when a row skips seat numbers (an aisle), then those columns hold no seat', () => {
    const seats = [1, 2, 5, 6].map((number) => ({ id: `A${number}`, row: 'A', number }));
    expect(seatRows(seats)).toEqual([['A1', 'A2', null, null, 'A5', 'A6']]);
  });

  it('when a room has more than 26 rows, then row AA comes after row Z', () => {
    const seats = seatLayout(28, 1).map((s) => ({ ...s, id: s.label }));
    expect(seatRows(seats).map((row) => row[0])).toEqual(seats.map((s) => s.label));
  });
});

describe('seatScore: 36 × squared distance from the middle of the row, 2/3 of the way back', () => {
  it('when the room is 10×20, then G10 and G11 (row index 6 = 2/3 × 9, half a seat off the middle) score 9', () => {
    const { rows } = empty(10, 20);
    expect(seatScore(rows[6]!, 9, 6, 10)).toBe(9);
    expect(seatScore(rows[6]!, 10, 6, 10)).toBe(9);
    // (1.5 seats)² + (1 row)² = 3.25, times 36.
    expect(seatScore(rows[7]!, 11, 7, 10)).toBe(117);
    // A1: 9.5 seats and 6 rows off.
    expect(seatScore(rows[0]!, 0, 0, 10)).toBe(36 * (9.5 ** 2 + 6 ** 2));
  });

  it('when a row has an aisle or an indent, then its middle is halfway between its first and last seat', () => {
    const { rows } = room('  ..  ..');
    // Seats in columns 2, 3, 6, 7: the middle is column 4.5.
    expect(seatScore(rows[0]!, 2, 0, 1)).toBe(36 * 2.5 ** 2);
    expect(seatScore(rows[0]!, 7, 0, 1)).toBe(36 * 2.5 ** 2);
  });
});

describe('bestSeats together', () => {
  it('when the 10×20 room is empty, then a pair gets G9-G10: the best row, and halves of 8 and 10 seats that pairs can fill', () => {
    expect(empty(10, 20).best(2)).toEqual(['G9', 'G10']);
  });

  it('when the room has 3 or 4 rows, then the best row is the one two thirds of the way back', () => {
    // 3 rows: 2/3 × 2 = 1.33, nearest row B. 4 rows: 2/3 × 3 = 2, row C.
    expect(empty(3, 6).best(1)).toEqual(['B3']);
    expect(empty(4, 6).best(1)).toEqual(['C3']);
  });

  it('when a row is odd (21 seats), then a pair cannot help leaving an odd half, and takes the middle-most seats', () => {
    expect(room('.'.repeat(21)).best(2)).toEqual(['A10', 'A11']);
  });

  it('when two blocks are as close as each other in a row, then the one further left wins', () => {
    // Three seats in 20: 9-11 and 10-12 are equally far from 10.5.
    expect(room('.'.repeat(20)).best(3)).toEqual(['A9', 'A10', 'A11']);
  });

  it('when two rows are as close as each other to the best row, then the one further back wins', () => {
    const rows = Array<string>(10).fill('.'.repeat(20));
    rows[6] = 'x'.repeat(20); // row G, the best, is full: F and H are both one row off
    expect(room(...rows).best(2)).toEqual(['H9', 'H10']);
  });

  it('when the closest pair would strand a seat between taken seats, then a pair further away that strands none wins', () => {
    // Seats 4-6 are free around the middle (5); any pair there leaves 4 or 6 alone.
    const r = room('..x...xxx');
    expect(r.best(2)).toEqual(['A1', 'A2']);
  });

  it("when the closest pair would strand a seat at the row's end, then a pair that strands none wins", () => {
    // 2-3 is closer than 8-9, but leaves seat 1 alone at the row's end.
    expect(room('...xxxx..').best(2)).toEqual(['A8', 'A9']);
  });

  it('when every choice strands a seat, then the closest still wins', () => {
    // Three runs of three: every pair leaves one seat alone.
    expect(room('...x...x...').best(2)).toEqual(['A5', 'A6']);
  });

  it('when every pair in the best row strands a seat, then a pair in a worse row that strands none wins', () => {
    // Of 3 rows, B is the best (2/3 × 2 = 1.33); its free seats are 3-5, so any pair there
    // leaves one alone. C is nearer B's level than A.
    expect(room('......', 'xx...x', '......').best(2)).toEqual(['C3', 'C4']);
  });

  it('when a seat already stood alone, then the choice is not blamed for it', () => {
    // B1 is alone already; B3-B4 strands nothing new and is the best pair.
    expect(room('......', '.x....', '......').best(2)).toEqual(['B3', 'B4']);
  });

  it('when seats are across an aisle, then they are not adjacent', () => {
    const r = room('... ...');
    expect(r.best(4)).toBeNull();
    expect(r.best(3)).toEqual(['A1', 'A2', 'A3']);
    // The two seats beside the aisle are not a pair: 2-3 and 5-6 are.
    expect(room('x.. ..x').best(2)).toEqual(['A2', 'A3']);
  });

  it('when no row has enough adjacent free seats, then nothing fits', () => {
    expect(room('..x..', '.x.x.').best(3)).toBeNull();
    expect(room('xxxxx').best(1)).toBeNull();
  });
});

describe('bestSeats apart (together: false)', () => {
  it('when no two free seats are adjacent, then it still finds the best single seats, in room order', () => {
    const r = room('.x.x.x.x.');
    expect(r.best(2)).toBeNull();
    // Column 5 is the middle; 3 and 7 are equally far, the left one wins.
    expect(r.best(2, false)).toEqual(['A3', 'A5']);
  });

  it('when an empty room is asked for 3 seats apart, then each is the best seat left: one row back beats 1.5 seats aside', () => {
    // G10 and G11 are half a seat off the middle (score 9); then H10 (9 + 36 for the row) beats
    // G9 or G12 (81).
    expect(empty(10, 20).best(3, false)).toEqual(['G10', 'G11', 'H10']);
  });

  it('when a seat next to the middle would leave another alone, then it takes seats that leave no one alone', () => {
    // Seats 2 or 3 would leave 1 or 4 alone at a row end; 1 then 2 strand nothing.
    expect(room('....').best(2, false)).toEqual(['A1', 'A2']);
  });

  it('when fewer seats are free than asked, then nothing fits', () => {
    expect(room('.x.', 'x.x').best(4, false)).toBeNull();
    expect(room('.x.', 'x.x').best(3, false)).toEqual(['A1', 'A3', 'B2']);
  });

  it('when one seat is asked, then apart and together choose the same', () => {
    const r = room('..x.x..', '.x...x.', 'x..x..x');
    expect(r.best(1, false)).toEqual(r.best(1, true));
  });
});

describe('compareChoices', () => {
  const choice = { row: 3, start: 4, size: 2, orphans: 0, strands: 0, score: 100 };
  it('when choices differ, then orphans count first, then strands, then distance, then the row further back, then the left', () => {
    const worse = [
      { ...choice, orphans: 1, score: 0 },
      { ...choice, strands: 1, score: 0 },
      { ...choice, score: 101, row: 9 },
      { ...choice, row: 2, start: 0 },
      { ...choice, start: 5 },
    ];
    for (const other of worse) {
      expect(compareChoices(choice, other)).toBeLessThan(0);
      expect(compareChoices(other, choice)).toBeGreaterThan(0);
    }
    expect(compareChoices(choice, { ...choice })).toBe(0);
  });

  it('when a block is found, then bestBlock reports why it won', () => {
    // Free: 2-5 and 7-8. 4-5 is half a seat either side of the middle (4.5) and strands nothing.
    const { rows, taken } = room('x....x..');
    const free = rows.map((row) => row.map((id) => id !== null && !taken.has(id)));
    expect(bestBlock(rows, free, 2)).toEqual({
      row: 0,
      start: 3,
      size: 2,
      orphans: 0,
      strands: 0,
      score: 9 * (1 ** 2 + 1 ** 2),
    });
  });
});
