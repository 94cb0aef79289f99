import { rowName, seatLayout } from '../../shared/catalogue/seat-layout';

describe('rowName', () => {
  it.each([
    [0, 'A'],
    [1, 'B'],
    [25, 'Z'],
    [26, 'AA'],
    [27, 'AB'],
    [49, 'AX'],
    [51, 'AZ'],
    [52, 'BA'],
    [701, 'ZZ'],
    [702, 'AAA'],
  ])('when the row index is %i, then the row is lettered %s', (index, name) => {
    expect(rowName(index)).toBe(name);
  });

  it('when rooms go up to 50 rows, then every row has a distinct name', () => {
    const names = Array.from({ length: 50 }, (_, i) => rowName(i));
    expect(new Set(names).size).toBe(50);
  });
});

describe('seatLayout', () => {
  it('when the room is 4×4, then it lists 16 seats A1…D4 in reading order', () => {
    const labels = seatLayout(4, 4).map((s) => s.label);
    expect(labels).toEqual([
      'A1',
      'A2',
      'A3',
      'A4',
      'B1',
      'B2',
      'B3',
      'B4',
      'C1',
      'C2',
      'C3',
      'C4',
      'D1',
      'D2',
      'D3',
      'D4',
    ]);
  });

  it('when a seat is listed, then its label is its row followed by its number', () => {
    for (const seat of seatLayout(4, 4)) expect(seat.label).toBe(`${seat.row}${seat.number}`);
    expect(seatLayout(4, 4)[6]).toEqual({ row: 'B', number: 3, label: 'B3' });
  });

  it('when the room is 10×20, then it has 200 seats, rows A…J, numbered 1…20 in each row', () => {
    const seats = seatLayout(10, 20);
    expect(seats).toHaveLength(200);
    expect([...new Set(seats.map((s) => s.row))]).toEqual([
      'A',
      'B',
      'C',
      'D',
      'E',
      'F',
      'G',
      'H',
      'I',
      'J',
    ]);
    for (const row of ['A', 'J']) {
      expect(seats.filter((s) => s.row === row).map((s) => s.number)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    }
    expect(seats[0]).toEqual({ row: 'A', number: 1, label: 'A1' });
    expect(seats[20]).toEqual({ row: 'B', number: 1, label: 'B1' });
    expect(seats[199]).toEqual({ row: 'J', number: 20, label: 'J20' });
  });

  it('when the room is the largest allowed (50×50), then it has 2500 distinct seats ending at AX50', () => {
    const seats = seatLayout(50, 50);
    expect(seats).toHaveLength(2500);
    expect(new Set(seats.map((s) => s.label)).size).toBe(2500);
    expect(seats[2499]).toEqual({ row: 'AX', number: 50, label: 'AX50' });
    // Labels must fit the session_seats columns: row varchar(3), label varchar(8).
    expect(Math.max(...seats.map((s) => s.row.length))).toBeLessThanOrEqual(3);
    expect(Math.max(...seats.map((s) => s.label.length))).toBeLessThanOrEqual(8);
  });

  it('when the room has no rows, then it has no seats', () => {
    expect(seatLayout(0, 20)).toEqual([]);
  });
});
