import {
  ApiError,
  type ApiClient,
  type Hold,
  type Order,
  type Payment,
  type Seat,
  type SeatStatus,
} from './api-client.js';
import { checkCard, type CardProblems } from './card-rules.js';
import { byId } from './dom.js';
import { formatClock, formatMoney } from './format.js';
import type { SeatMapView } from './seat-map.js';
import { inWords } from './words.js';

/** What the checkout tells the rest of the page. */
export interface CheckoutOutlet {
  say(text: string): void;
  warn(text: string): void;
  /** The buyer must sign in (again) before going on. */
  signInFirst(text: string): void;
  paid(orderId: string): void;
}

/** The longest `Prefer: wait` asked for; the API honours up to 30 s (§4.3). */
const WAIT_SECONDS = 25;
/** When the countdown is read out to a screen reader, besides its start. */
const WARN_AT_SECONDS = 10;

type Stage = 'held' | 'confirmed' | 'paying';

/**
 * One buyer's purchase on one session: pick seats (or ask for the best together), hold them,
 * confirm, pay, follow the outcome. The hold's life is the API's (`expiresInSeconds` of each
 * answer), counted down on screen; the live map has the last word when it frees the seats.
 */
export class Checkout {
  private hold?: Hold;
  private stage?: Stage;
  private priceCents = 0;
  private currency = 'BRL';
  private clock?: ReturnType<typeof setInterval>;
  private busy = false;
  private left = false;
  /** The hold being checked against the API, so a burst of stream changes asks once. */
  private verifying?: Hold;

  private readonly panel = byId('hold-panel');
  private readonly holdPicked = byId<HTMLButtonElement>('hold-picked');
  private readonly confirmButton = byId<HTMLButtonElement>('confirm');
  private readonly releaseButton = byId<HTMLButtonElement>('release');
  private readonly form = byId<HTMLFormElement>('payment-form');
  private readonly cardFields = byId<HTMLFieldSetElement>('card-fields');

  constructor(
    private readonly api: ApiClient,
    private readonly map: SeatMapView,
    private readonly sessionId: string,
    private readonly outlet: CheckoutOutlet,
  ) {}

  /** Wires the panel's controls; answers a function that unwires them. */
  start(price: { priceCents: number; currency: string }): () => void {
    this.priceCents = price.priceCents;
    this.currency = price.currency;
    const controller = new AbortController();
    const on = (target: EventTarget, type: string, listener: (event: Event) => void) =>
      target.addEventListener(type, listener, { signal: controller.signal });
    // One request at a time: a double click must not hold the best seats twice.
    const once = (action: () => Promise<void>) => () => {
      if (this.busy) return;
      this.busy = true;
      void action().finally(() => {
        this.busy = false;
      });
    };
    on(
      this.holdPicked,
      'click',
      once(() => this.holdSeats({ seatIds: this.map.pickedIds() })),
    );
    for (const button of document.querySelectorAll<HTMLButtonElement>('[data-best]')) {
      const quantity = Number(button.dataset.best);
      on(
        button,
        'click',
        once(() => this.holdSeats({ sessionId: this.sessionId, quantity })),
      );
    }
    on(
      this.confirmButton,
      'click',
      once(() => this.confirm()),
    );
    on(
      this.releaseButton,
      'click',
      once(() => this.release()),
    );
    on(this.form, 'change', () => this.showCardFields());
    const pay = once(() => this.pay());
    on(this.form, 'submit', (event) => {
      event.preventDefault();
      pay();
    });
    this.reset();
    return () => {
      controller.abort();
      this.leave();
    };
  }

  /** A seat was clicked or chosen with the keyboard. */
  choose(seat: Seat): void {
    if (this.hold) {
      this.outlet.say('You already hold seats here: confirm them, or release them to pick again.');
      return;
    }
    if (seat.status !== 'available') {
      this.outlet.say(
        `Row ${seat.row}, seat ${seat.number} is ${seat.status === 'sold' ? 'sold' : 'taken'}.`,
      );
      return;
    }
    this.map.togglePick(seat.id);
    this.showPick();
  }

  /** Changes from the live map: picked seats someone else took, or the buyer's own seats freed. */
  seen(changes: { id: string; status: SeatStatus }[]): void {
    const lost = this.map.update(changes);
    if (lost.length > 0) {
      this.outlet.warn(
        `Someone else just took ${lost.map((s) => s.label).join(', ')}: pick another seat.`,
      );
      this.showPick();
    }
    const hold = this.hold;
    if (
      hold &&
      this.stage !== 'paying' &&
      hold.seatIds.every((id) => this.map.seat(id)?.status === 'available')
    ) {
      void this.verify(hold);
    }
  }

  /**
   * The map shows the buyer's seats free: the hold expired or was released elsewhere, unless the
   * stream is only catching up with what came before the hold. The hold itself says which.
   */
  private async verify(hold: Hold): Promise<void> {
    if (this.verifying === hold) return;
    this.verifying = hold;
    let over: boolean;
    try {
      const { stage } = await this.api.readHold(hold);
      over = stage === 'expired' || stage === 'released';
    } catch (error) {
      over = error instanceof ApiError && (error.status === 404 || error.status === 410);
      if (!over && this.hold === hold) this.fail(error);
    } finally {
      this.verifying = undefined;
    }
    if (over && this.hold === hold) {
      this.end('Your hold ran out and the seats went back on sale. Pick seats again.');
    }
  }

  private async holdSeats(
    request: { seatIds: string[] } | { sessionId: string; quantity: number },
  ) {
    if (!this.api.signedIn) {
      this.outlet.signInFirst('Sign in to hold seats.');
      return;
    }
    try {
      const hold = await this.api.hold(request);
      if (this.left) {
        // Answered after the buyer left the session: nobody will buy these seats here.
        void this.api.release(hold).catch(() => undefined);
        return;
      }
      this.hold = hold;
      this.map.setMine(hold.seatIds, true);
      this.showPick();
      this.enter('held', hold.expiresInSeconds);
      this.outlet.say(
        `Held ${this.map.labels(hold.seatIds)} for you. Confirm to keep them while you pay.`,
      );
      this.confirmButton.focus();
    } catch (error) {
      if (error instanceof ApiError && Array.isArray(error.details.seatIds)) {
        this.map.markTaken(error.details.seatIds as string[]);
        this.showPick();
      }
      this.fail(error);
    }
  }

  private async confirm(): Promise<void> {
    const hold = this.hold;
    if (!hold) return;
    try {
      const confirmed = await this.api.confirm(hold);
      if (this.hold !== hold) return;
      this.enter('confirmed', confirmed.expiresInSeconds);
      this.outlet.say('Confirmed. Choose how to pay.');
      this.form.querySelector<HTMLInputElement>('input[name=method]:checked')?.focus();
    } catch (error) {
      this.fail(error);
    }
  }

  private async release(): Promise<void> {
    if (!this.hold) return;
    try {
      await this.api.release(this.hold);
      this.end('Seats released.', 'say');
    } catch (error) {
      this.fail(error);
    }
  }

  private async pay(): Promise<void> {
    const hold = this.hold;
    if (!hold || this.stage !== 'confirmed') return;
    const payment = this.payment();
    if (!payment) return;
    this.enter('paying');
    this.outlet.say('Paying… waiting for the answer of the payment.');
    try {
      const { orderId } = await this.api.pay(hold, payment, crypto.randomUUID());
      const order = await this.outcome(orderId);
      // The buyer left the session meanwhile: the order is in their history.
      if (this.hold !== hold) return;
      if (order.status === 'paid') {
        this.hold = undefined;
        this.reset();
        this.outlet.paid(orderId);
      } else if (order.status === 'declined') {
        const now = await this.api.readHold(hold);
        this.enter('confirmed', now.expiresInSeconds);
        this.outlet.warn(
          'Your payment was declined and nothing was charged. Try another card, or pay by pix.',
        );
      } else {
        this.end(
          'Those seats were sold a moment before your payment went through; it was refunded.',
        );
      }
    } catch (error) {
      if (this.hold !== hold) return;
      // The payment may not have started: the form comes back; the API refuses a second one.
      this.enter('confirmed');
      this.stopClock('');
      this.fail(error);
    }
  }

  /** The order once it has left `processing`, by long waits rather than polling. */
  private async outcome(orderId: string): Promise<Order> {
    for (;;) {
      const order = await this.api.order(orderId, WAIT_SECONDS);
      if (order.status !== 'processing') return order;
    }
  }

  /** The payment the form describes, or nothing when a card field needs fixing (said beside it). */
  private payment(): Payment | undefined {
    const data = new FormData(this.form);
    const method = String(data.get('method'));
    if (method !== 'credit_card' && method !== 'debit_card') return { method: 'pix' };
    const checked = checkCard({
      number: String(data.get('number') ?? ''),
      holderName: String(data.get('holderName') ?? ''),
      expMonth: String(data.get('expMonth') ?? ''),
      expYear: String(data.get('expYear') ?? ''),
      cvv: String(data.get('cvv') ?? ''),
    });
    this.showProblems('problems' in checked ? checked.problems : {});
    if ('problems' in checked) {
      this.form.querySelector<HTMLInputElement>('[aria-invalid=true]')?.focus();
      return undefined;
    }
    return { method, card: checked.card };
  }

  private showProblems(problems: CardProblems): void {
    for (const field of ['number', 'holderName', 'expiry', 'cvv'] as const) {
      byId(`error-${field}`).textContent = problems[field] ?? '';
      const inputs = field === 'expiry' ? ['expMonth', 'expYear'] : [field];
      for (const name of inputs) {
        this.form
          .querySelector(`[name=${name}]`)
          ?.setAttribute('aria-invalid', String(field in problems));
      }
    }
  }

  private showCardFields(): void {
    const method = new FormData(this.form).get('method');
    const card = method === 'credit_card' || method === 'debit_card';
    this.cardFields.hidden = !card;
    this.cardFields.disabled = !card;
  }

  private showPick(): void {
    const count = this.map.pickedIds().length;
    this.holdPicked.disabled = count === 0 || this.hold !== undefined;
    this.holdPicked.textContent =
      count === 0 ? 'Hold picked seats' : count === 1 ? 'Hold 1 seat' : `Hold ${count} seats`;
  }

  /** A stage of the hold, with the seconds the API gave it (none: the hold cannot expire now). */
  private enter(stage: Stage, seconds?: number): void {
    this.stage = stage;
    const hold = this.hold!;
    this.panel.hidden = false;
    byId('hold-seats').textContent = this.map.labels(hold.seatIds);
    byId('hold-total').textContent = formatMoney(
      this.priceCents * hold.seatIds.length,
      this.currency,
    );
    this.confirmButton.hidden = stage !== 'held';
    this.releaseButton.disabled = stage === 'paying';
    this.form.hidden = stage === 'held';
    for (const control of this.form.querySelectorAll<HTMLButtonElement | HTMLInputElement>(
      'button, input[name=method]',
    )) {
      control.disabled = stage === 'paying';
    }
    this.showCardFields();
    if (seconds !== undefined) this.countDown(seconds);
    else if (stage === 'paying') this.stopClock('Paying…');
  }

  private countDown(seconds: number): void {
    this.stopClock('');
    const deadline = Date.now() + seconds * 1000;
    let warned = seconds <= WARN_AT_SECONDS;
    const tick = () => {
      const left = (deadline - Date.now()) / 1000;
      if (left <= 0) {
        this.end('Your hold ran out and the seats went back on sale. Pick seats again.');
        return;
      }
      const what = this.stage === 'held' ? 'Held for you' : 'Kept for you while you pay';
      byId('hold-clock').textContent = `${what}: ${formatClock(left)} left.`;
      if (!warned && left <= WARN_AT_SECONDS) {
        warned = true;
        this.outlet.say(`${WARN_AT_SECONDS} seconds left on your hold.`);
      }
    };
    tick();
    this.clock = setInterval(tick, 250);
  }

  private stopClock(text: string): void {
    clearInterval(this.clock);
    this.clock = undefined;
    byId('hold-clock').textContent = text;
  }

  private fail(error: unknown): void {
    if (error instanceof ApiError && error.code === 'HOLD_EXPIRED') {
      this.end(inWords(error));
    } else if (error instanceof ApiError && error.status === 401) {
      this.outlet.signInFirst(inWords(error));
    } else {
      this.outlet.warn(inWords(error));
    }
  }

  /** The hold is over (expired, released, lost): its seats are no longer the buyer's. */
  private end(text: string, tone: 'say' | 'warn' = 'warn'): void {
    if (this.hold) this.map.setMine(this.hold.seatIds, false);
    this.hold = undefined;
    this.reset();
    this.outlet[tone](text);
  }

  private reset(): void {
    this.stage = undefined;
    this.stopClock('');
    this.panel.hidden = true;
    this.form.reset();
    this.showProblems({});
    this.showPick();
  }

  /** Leaving the session: seats held and not being paid go back on sale for others. */
  private leave(): void {
    this.left = true;
    const hold = this.hold;
    if (hold && this.stage !== 'paying') void this.api.release(hold).catch(() => undefined);
    this.hold = undefined;
    this.stopClock('');
  }
}
