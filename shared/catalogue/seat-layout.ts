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
