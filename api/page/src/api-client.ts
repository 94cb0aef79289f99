/**
 * The public API (§4) as the page uses it. Tokens live in this object only (never in storage a
 * script injected later could read); the access token is refreshed shortly before it expires and
 * once more when an answer says 401, and a refresh that fails ends the session.
 */

export type SeatStatus = 'available' | 'held' | 'sold';

export interface Seat {
  id: string;
  label: string;
  row: string;
  number: number;
  status: SeatStatus;
}

export interface SessionSummary {
  id: string;
  movie: { id: string; title: string };
  room: { id: string; name: string };
  startsAt: string;
  priceCents: number;
  currency: string;
  seatsTotal: number;
  seatsAvailable: number;
}

export interface SessionMap extends SessionSummary {
  seats: Seat[];
}

export interface Hold {
  holdId: string;
  holdToken: string;
  sessionId: string;
  seatIds: string[];
  stage: string;
  expiresAt: string;
  expiresInSeconds: number;
}

export type OrderStatus = 'processing' | 'paid' | 'declined' | 'refunded' | 'failed';

export interface Order {
  orderId: string;
  status: OrderStatus;
  sessionId: string;
  seats: { id: string; label: string }[];
  totalCents: number;
  currency: string;
  method: string;
  cardLast4: string | null;
  createdAt: string;
  paidAt: string | null;
  receipt: { movie?: string; room?: string; startsAt?: string; seats?: string[] } | null;
}

export interface Card {
  number: string;
  holderName: string;
  expMonth: number;
  expYear: number;
  cvv: string;
}

export type Payment = { method: 'pix' } | { method: 'credit_card' | 'debit_card'; card: Card };

export interface WaitingRoom {
  state: 'prequeue' | 'queueing' | 'soldout';
  opensAt: string;
  waiting: number;
  active: number;
  estimatedWaitSeconds: number;
}

/** An error answer, as §4 shapes every one: `{error: {code, message, ...details}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** From Retry-After, on 429 and 503. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

/** Refresh this long before the access token's expiry, so a request never leaves with a stale one. */
const REFRESH_MARGIN_MS = 30_000;

interface Call {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the buyer's access token (and refresh it as needed). */
  auth?: boolean;
}

export class ApiClient {
  private tokens?: { access: string; refresh: string; expiresAtMs: number };
  private refreshing?: Promise<boolean>;

  /** Told when the session ends without the buyer asking (a refused refresh). */
  onSignedOut: () => void = () => {};

  get signedIn(): boolean {
    return this.tokens !== undefined;
  }

  async signUp(name: string, email: string, password: string): Promise<void> {
    await this.call('POST', '/api/v1/users', { body: { name, email, password } });
  }

  async signIn(email: string, password: string): Promise<{ id: string; name: string }> {
    this.keep(
      await this.call<TokenPair>('POST', '/api/v1/auth/token', { body: { email, password } }),
    );
    return this.call('GET', '/api/v1/me', { auth: true });
  }

  async signOut(): Promise<void> {
    try {
      await this.call('POST', '/api/v1/auth/logout', { auth: true });
    } finally {
      this.tokens = undefined;
    }
  }

  /** One page of upcoming sessions and the URL of the next, from the Link header (RFC 8288). */
  async sessions(url = '/api/v1/sessions'): Promise<{ items: SessionSummary[]; next?: string }> {
    const res = await this.send('GET', url, {});
    const items = (await res.json()) as SessionSummary[];
    const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
    return { items, next };
  }

  session(id: string): Promise<SessionMap> {
    return this.call('GET', `/api/v1/sessions/${encodeURIComponent(id)}`);
  }

  waitingRoom(sessionId: string): Promise<WaitingRoom> {
    return this.call('GET', `/api/v1/sessions/${encodeURIComponent(sessionId)}/waiting-room`);
  }

  hold(request: { seatIds: string[] } | { sessionId: string; quantity: number }): Promise<Hold> {
    return this.call('POST', '/api/v1/holds', {
      auth: true,
      body: request,
      // A retried click after a lost answer gets the same hold, not a second one.
      headers: { 'Idempotency-Key': crypto.randomUUID() },
    });
  }

  readHold(hold: Hold): Promise<{ stage: string; expiresAt: string; expiresInSeconds: number }> {
    return this.call('GET', `/api/v1/holds/${hold.holdId}`, this.asOwner(hold));
  }

  confirm(hold: Hold): Promise<{ stage: string; expiresAt: string; expiresInSeconds: number }> {
    return this.call('POST', `/api/v1/holds/${hold.holdId}/confirm`, this.asOwner(hold));
  }

  async release(hold: Hold): Promise<void> {
    await this.call('DELETE', `/api/v1/holds/${hold.holdId}`, this.asOwner(hold));
  }

  pay(hold: Hold, payment: Payment, attempt: string): Promise<{ orderId: string }> {
    const owner = this.asOwner(hold);
    return this.call('POST', `/api/v1/holds/${hold.holdId}/payment`, {
      ...owner,
      body: payment,
      headers: { ...owner.headers, 'Idempotency-Key': attempt },
    });
  }

  /** The order; with `waitSeconds`, as soon as it leaves `processing` (§4.3, `Prefer: wait`). */
  order(orderId: string, waitSeconds?: number): Promise<Order> {
    return this.call('GET', `/api/v1/orders/${encodeURIComponent(orderId)}`, {
      auth: true,
      headers: waitSeconds ? { Prefer: `wait=${waitSeconds}` } : {},
    });
  }

  async myOrders(): Promise<Order[]> {
    return (await this.call<{ items: Order[] }>('GET', '/api/v1/me/orders', { auth: true })).items;
  }

  private asOwner(hold: Hold): Call & { headers: Record<string, string> } {
    return { auth: true, headers: { 'X-Hold-Token': hold.holdToken } };
  }

  private async call<T>(method: string, path: string, call: Call = {}): Promise<T> {
    const res = await this.send(method, path, call);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  /** The answer when it is a success; otherwise an ApiError, after one refresh on a 401. */
  private async send(method: string, path: string, call: Call): Promise<Response> {
    if (call.auth && this.tokens && Date.now() > this.tokens.expiresAtMs - REFRESH_MARGIN_MS) {
      await this.refresh();
    }
    let res = await this.fetch(method, path, call);
    if (res.status === 401 && call.auth && this.tokens && (await this.refresh())) {
      res = await this.fetch(method, path, call);
    }
    if (res.ok) return res;
    const error = await errorOf(res);
    if (error.status === 401 && call.auth && this.tokens) this.endSession();
    throw error;
  }

  private fetch(method: string, path: string, { body, headers, auth }: Call): Promise<Response> {
    return fetch(path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(auth && this.tokens ? { Authorization: `Bearer ${this.tokens.access}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** One refresh at a time: concurrent requests that find the token old share it. */
  private refresh(): Promise<boolean> {
    this.refreshing ??= this.rotate().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async rotate(): Promise<boolean> {
    const refreshToken = this.tokens?.refresh;
    if (!refreshToken) return false;
    const res = await this.fetch('POST', '/api/v1/auth/refresh', { body: { refreshToken } });
    if (res.ok) {
      this.keep((await res.json()) as TokenPair);
      return true;
    }
    const error = await errorOf(res);
    // Busy or rate limited: the tokens still stand, the buyer is told to wait.
    if (error.status !== 401) throw error;
    this.endSession();
    return false;
  }

  private keep(pair: TokenPair): void {
    this.tokens = {
      access: pair.accessToken,
      refresh: pair.refreshToken,
      expiresAtMs: Date.now() + pair.expiresIn * 1000,
    };
  }

  private endSession(): void {
    this.tokens = undefined;
    this.onSignedOut();
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  const retryAfter = Number(res.headers.get('retry-after'));
  const seconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
  let body: { error?: { code?: string; message?: string } & Record<string, unknown> } = {};
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's page): the status alone tells what happened.
  }
  const { code = `HTTP_${res.status}`, message = res.statusText, ...details } = body.error ?? {};
  return new ApiError(res.status, code, message, details, seconds);
}
