import type { Seat, SeatStatus } from './api-client.js';
import { el } from './dom.js';

/** How a seat looks and reads: its status, or the buyer's own relation to it. */
type SeatState = SeatStatus | 'picked' | 'mine';

const SPOKEN: Record<SeatState, string> = {
  available: 'available',
  picked: 'picked by you, not held yet',
  mine: 'held for you',
  held: 'taken',
  sold: 'sold',
};

/**
 * The seat map view: one button per seat, in rows, kept in step with the live stream. Every seat
 * keeps its box whatever its state (only a data attribute and the label change), so an update
 * never moves anything. One roving tab stop: Tab enters the map at the last seat used, arrow keys
 * move, Home/End go to a row's ends, Enter or Space (a button's own keys) chooses.
 */
export class SeatMapView {
  private readonly seats = new Map<string, { seat: Seat; button: HTMLButtonElement }>();
  private rows: HTMLButtonElement[][] = [];
  private readonly picked = new Set<string>();
  private readonly mine = new Set<string>();
  private current?: HTMLButtonElement;

  constructor(
    private readonly root: HTMLElement,
    /** A seat was clicked or chosen with Enter/Space. */
    private readonly onChoose: (seat: Seat) => void,
    /** Ends the view's listeners when the buyer leaves the session. */
    signal: AbortSignal,
  ) {
    root.addEventListener(
      'click',
      (event) => {
        const button = (event.target as Element).closest<HTMLButtonElement>('button[data-id]');
        const entry = button && this.seats.get(button.dataset.id!);
        if (!entry) return;
        this.focusSeat(entry.button, false);
        this.onChoose(entry.seat);
      },
      { signal },
    );
    root.addEventListener('keydown', (event) => this.move(event), { signal });
  }

  /** Draws a whole map (a snapshot); the seat that had the tab stop keeps it. */
  draw(seats: Seat[]): void {
    const keep = this.current?.dataset.id;
    this.seats.clear();
    const byRow = new Map<string, Seat[]>();
    for (const seat of seats) byRow.set(seat.row, [...(byRow.get(seat.row) ?? []), seat]);
    this.rows = [...byRow.values()].map((rowSeats) =>
      rowSeats
        .sort((a, b) => a.number - b.number)
        .map((seat) => {
          const button = el('button', {
            className: 'seat',
            attrs: { type: 'button', 'data-id': seat.id, tabindex: '-1' },
          });
          this.seats.set(seat.id, { seat, button });
          this.paint(seat.id);
          return button;
        }),
    );
    this.root.replaceChildren(
      ...[...byRow.keys()].map((row, i) =>
        el(
          'div',
          { className: 'seat-row', attrs: { role: 'group', 'aria-label': `Row ${row}` } },
          el('span', { className: 'row-label', attrs: { 'aria-hidden': 'true' } }, row),
          ...this.rows[i]!,
        ),
      ),
    );
    const first = (keep && this.seats.get(keep)?.button) || this.rows[0]?.[0];
    if (first) this.focusSeat(first, false);
    // A room wider than the screen opens on its middle, where the best seats are.
    const scroller = this.root.closest<HTMLElement>('.map-scroll');
    if (!keep && scroller) scroller.scrollLeft = (scroller.scrollWidth - scroller.clientWidth) / 2;
  }

  /** Status changes from the stream; answers which of the buyer's picked seats were taken. */
  update(changes: { id: string; status: SeatStatus }[]): Seat[] {
    const lost: Seat[] = [];
    for (const { id, status } of changes) {
      const entry = this.seats.get(id);
      if (!entry) continue;
      entry.seat.status = status;
      if (status !== 'available' && this.picked.delete(id) && !this.mine.has(id)) {
        lost.push(entry.seat);
      }
      if (status !== 'held') this.mine.delete(id);
      this.paint(id);
    }
    return lost;
  }

  seat(id: string): Seat | undefined {
    return this.seats.get(id)?.seat;
  }

  labels(ids: string[]): string {
    return ids.map((id) => this.seat(id)?.label ?? '?').join(', ');
  }

  /** Toggles a seat in or out of the buyer's pick (not held yet). */
  togglePick(id: string): void {
    if (!this.picked.delete(id)) this.picked.add(id);
    this.paint(id);
  }

  pickedIds(): string[] {
    return [...this.picked];
  }

  /** Marks seats as held by this buyer (or no longer), and clears the pick. */
  setMine(ids: string[], mine: boolean): void {
    for (const id of ids) {
      if (mine) this.mine.add(id);
      else this.mine.delete(id);
      this.picked.delete(id);
      // The stream may not have said so yet: what the API answered is already true.
      const entry = this.seats.get(id);
      if (entry && mine) entry.seat.status = 'held';
      this.paint(id);
    }
    for (const id of [...this.picked]) {
      this.picked.delete(id);
      this.paint(id);
    }
  }

  /** Shows seats as taken at once, as a 409 said, before the stream does. */
  markTaken(ids: string[]): void {
    this.update(ids.map((id) => ({ id, status: 'held' as const })));
  }

  private state(seat: Seat): SeatState {
    if (this.mine.has(seat.id) && seat.status === 'held') return 'mine';
    if (this.picked.has(seat.id)) return 'picked';
    return seat.status;
  }

  private paint(id: string): void {
    const entry = this.seats.get(id);
    if (!entry) return;
    const { seat, button } = entry;
    const state = this.state(seat);
    button.dataset.state = state;
    button.setAttribute('aria-label', `Row ${seat.row}, seat ${seat.number}, ${SPOKEN[state]}`);
    button.setAttribute('aria-pressed', String(state === 'picked' || state === 'mine'));
    // Not `disabled`: a taken seat stays reachable, so a screen reader can still tell it.
    button.setAttribute('aria-disabled', String(state === 'held' || state === 'sold'));
  }

  private focusSeat(button: HTMLButtonElement, focus = true): void {
    if (this.current && this.current !== button) this.current.tabIndex = -1;
    button.tabIndex = 0;
    this.current = button;
    if (focus) button.focus();
  }

  private move(event: KeyboardEvent): void {
    const at = this.current && this.position(this.current);
    if (!at) return;
    const [r, c] = at;
    const target: Record<string, [number, number] | undefined> = {
      ArrowLeft: [r, c - 1],
      ArrowRight: [r, c + 1],
      ArrowUp: [r - 1, c],
      ArrowDown: [r + 1, c],
      Home: [r, 0],
      End: [r, Number.MAX_SAFE_INTEGER],
    };
    const [row, col] = target[event.key] ?? [];
    if (row === undefined || col === undefined) return;
    event.preventDefault();
    const seats = this.rows[Math.min(Math.max(row, 0), this.rows.length - 1)]!;
    this.focusSeat(seats[Math.min(Math.max(col, 0), seats.length - 1)]!);
  }

  private position(button: HTMLButtonElement): [number, number] | undefined {
    for (const [r, seats] of this.rows.entries()) {
      const c = seats.indexOf(button);
      if (c >= 0) return [r, c];
    }
    return undefined;
  }
}
