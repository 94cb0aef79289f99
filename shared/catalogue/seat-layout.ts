/** Room size rules (§4.1): big enough to be a cinema, small enough to render as a seat map. */
export const ROOM_LIMITS = { minSeats: 16, maxRows: 50, maxSeatsPerRow: 50 } as const;

export interface SeatPosition {
  row: string;
  number: number;
  label: string;
}

/** Row 0 → "A", 25 → "Z", 26 → "AA": the lettering cinemas print on their row ends. */
export function rowName(index: number): string {
  let name = '';
  let n = index;
  do {
    name = String.fromCharCode(65 + (n % 26)) + name;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return name;
}

/** Every seat of a rows × seatsPerRow room, in reading order (A1, A2, …, B1, …). */
export function seatLayout(rows: number, seatsPerRow: number): SeatPosition[] {
  const seats: SeatPosition[] = [];
  for (let r = 0; r < rows; r++) {
    const row = rowName(r);
    for (let number = 1; number <= seatsPerRow; number++) {
      seats.push({ row, number, label: `${row}${number}` });
    }
  }
  return seats;
}

/**
 * One row as it stands on the floor, column by column from its left end: a seat's id, or `null`
 * where the row has no seat (an aisle, or the indent of a shorter row). Seats in neighbouring
 * columns are adjacent; a `null` between them is an aisle, so seats across it are not.
 */
export type SeatRow = (string | null)[];

/**
 * A session's seats as rows of columns, front (row A, nearest the screen) to back: the seat
 * numbered n stands in column n (index n - 1), and a number the row skips is a column without a
 * seat. Today's rooms number every row 1…seatsPerRow, so they have no gaps; a room with aisles
 * would give them as skipped numbers, and every reader of these rows handles that.
 */
export function seatRows(seats: readonly { id: string; row: string; number: number }[]): SeatRow[] {
  const rows = new Map<string, SeatRow>();
  for (const seat of seats) {
    let row = rows.get(seat.row);
    if (!row) rows.set(seat.row, (row = []));
    while (row.length < seat.number) row.push(null);
    row[seat.number - 1] = seat.id;
  }
  return [...rows.keys()].sort(byRowName).map((name) => rows.get(name)!);
}

/** Row names in floor order: by length first, so "AA" comes after "Z". */
export function byRowName(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
