import { Account } from './account.js';
import { ApiClient, type Order, type SessionSummary } from './api-client.js';
import { Checkout } from './checkout.js';
import { byId, el } from './dom.js';
import { formatMoney, formatWhen } from './format.js';
import { followSeats } from './live-seats.js';
import { historyItem, orderDetails, orderStatus } from './orders.js';
import { SeatMapView } from './seat-map.js';
import { admission } from './waiting-room.js';
import { inWords } from './words.js';

/**
 * The buyer's page (§4.10): one document, four views chosen by the address (`/`, `?session=`,
 * `?order=`, `?view=history`), moved between without reloading so the tokens, which live in
 * memory only, survive.
 */

const VIEWS = ['sessions-view', 'session-view', 'order-view', 'history-view'] as const;
/** How often, and how far apart, an order just paid is read again until its receipt is written. */
const RECEIPT_TRIES = 5;
const RECEIPT_PAUSE_MS = 1000;

const api = new ApiClient();
const notice = byId('notice');
const problem = byId('problem');
const say = (text: string) => {
  problem.textContent = '';
  notice.textContent = text;
};
const warn = (text: string) => {
  notice.textContent = '';
  problem.textContent = text;
};

/** What the view on screen must stop (a stream, a countdown) when another replaces it. */
let leaveView: () => void = () => {};
/** Counts renders, so a view whose data came back after the buyer moved on stays unopened. */
let renders = 0;

const account = new Account(api, {
  say,
  warn,
  // The seat map goes on as it is (a hold survives a new sign-in); the other views depend on who.
  changed: () => {
    if (!new URLSearchParams(location.search).has('session')) void render();
  },
});

function show(view: (typeof VIEWS)[number]): void {
  for (const id of VIEWS) byId(id).hidden = id !== view;
}

/** Another view: what was said about the last one no longer applies. */
function go(url: string): void {
  history.pushState(null, '', url);
  say('');
  void render();
}

async function render(): Promise<void> {
  leaveView();
  leaveView = () => {};
  const thisRender = ++renders;
  const query = new URLSearchParams(location.search);
  const session = query.get('session');
  const order = query.get('order');
  try {
    if (session) await showSession(session, () => thisRender === renders);
    else if (order) await showOrder(order);
    else if (query.get('view') === 'history') await showHistory();
    else await showSessions();
  } catch (error) {
    warn(inWords(error));
  }
}

async function showSessions(url?: string): Promise<void> {
  show('sessions-view');
  const movies = byId('movies');
  if (!url) movies.replaceChildren();
  const page = await api.sessions(url);
  const byMovie = new Map<string, { title: string; sessions: SessionSummary[] }>();
  for (const s of page.items) {
    const movie = byMovie.get(s.movie.id) ?? { title: s.movie.title, sessions: [] };
    movie.sessions.push(s);
    byMovie.set(s.movie.id, movie);
  }
  for (const { title, sessions } of byMovie.values()) {
    movies.append(
      el(
        'section',
        { className: 'movie' },
        el('h2', {}, title),
        el('ul', {}, ...sessions.map(sessionLink)),
      ),
    );
  }
  if (page.next) {
    const more = el('button', { attrs: { type: 'button' } }, 'More sessions');
    more.addEventListener('click', () => {
      more.remove();
      void showSessions(page.next).catch((error: unknown) => warn(inWords(error)));
    });
    movies.append(more);
  }
  if (!url && page.items.length === 0) movies.append(el('p', {}, 'No sessions are on sale now.'));
}

function sessionLink(s: SessionSummary): HTMLLIElement {
  const left =
    s.seatsAvailable === 0 ? 'sold out' : `${s.seatsAvailable} of ${s.seatsTotal} seats left`;
  return el(
    'li',
    {},
    el(
      'a',
      { attrs: { href: `/?session=${s.id}` } },
      `${formatWhen(s.startsAt)} · ${s.room.name} · ${formatMoney(s.priceCents, s.currency)} · ${left}`,
    ),
  );
}

async function showSession(sessionId: string, current: () => boolean): Promise<void> {
  show('session-view');
  byId('session-title').textContent = 'Loading the seat map…';
  byId('session-when').textContent = '';
  const room = byId('waiting-room');
  const mapArea = byId('map-area');
  const entry = await admission(api, sessionId);
  if (!current()) return;
  room.hidden = entry.open;
  mapArea.hidden = !entry.open;
  if (!entry.open) {
    const { waiting, estimatedWaitSeconds, state } = entry.room;
    room.textContent =
      state === 'soldout'
        ? 'This premiere is sold out.'
        : `This premiere has a waiting room: ${waiting} people in line, about ${Math.ceil(estimatedWaitSeconds / 60)} min. ` +
          'Joining the line from this page is not available yet.';
    return;
  }
  const views = new AbortController();
  const map = new SeatMapView(byId('seat-map'), (seat) => checkout.choose(seat), views.signal);
  const checkout = new Checkout(api, map, sessionId, {
    say,
    warn,
    signInFirst: (text) => account.ask(text),
    paid: (orderId) => go(`/?order=${orderId}`),
  });
  let stopCheckout: (() => void) | undefined;
  const stopFeed = followSeats(sessionId, {
    snapshot(session) {
      byId('session-title').textContent = `${session.movie.title}`;
      byId('session-when').textContent =
        `${formatWhen(session.startsAt)} · ${session.room.name} · ${formatMoney(session.priceCents, session.currency)} a seat`;
      map.draw(session.seats);
      stopCheckout ??= checkout.start(session);
      checkout.seen([]);
      if (!problem.textContent) say('The seat map is live: seats change as others buy.');
    },
    changes: (changes) => checkout.seen(changes),
    interrupted: (seconds) =>
      warn(`The live seat map is busy or unreachable: trying again in ${seconds} s.`),
  });
  leaveView = () => {
    stopFeed();
    stopCheckout?.();
    views.abort();
  };
}

async function showOrder(orderId: string): Promise<void> {
  show('order-view');
  if (!api.signedIn) {
    account.ask('Sign in to see your order.');
    return;
  }
  let order: Order = await api.order(orderId, 25);
  paintOrder(order);
  // The receipt is written by a worker just after the sale: read again until it is there.
  for (let i = 0; i < RECEIPT_TRIES && order.status === 'paid' && !order.receipt; i++) {
    await new Promise((resolve) => setTimeout(resolve, RECEIPT_PAUSE_MS));
    order = await api.order(orderId);
    paintOrder(order);
  }
}

function paintOrder(order: Order): void {
  const status = byId('order-status');
  status.textContent = orderStatus(order);
  status.dataset.status = order.status;
  byId('order-details').replaceChildren(...orderDetails(order));
}

async function showHistory(): Promise<void> {
  show('history-view');
  const list = byId('history');
  list.replaceChildren();
  if (!api.signedIn) {
    account.ask('Sign in to see your tickets.');
    return;
  }
  const orders = await api.myOrders();
  list.replaceChildren(
    ...(orders.length > 0 ? orders.map(historyItem) : [el('li', {}, 'No tickets yet.')]),
  );
}

// Links inside the page change the view, not the document: a reload would drop the sign-in.
document.addEventListener('click', (event) => {
  const link = (event.target as Element).closest<HTMLAnchorElement>('a[href^="/"]');
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  go(link.getAttribute('href')!);
});
byId('show-history').addEventListener('click', () => go('/?view=history'));
byId('order-history').addEventListener('click', () => go('/?view=history'));
window.addEventListener('popstate', () => {
  say('');
  void render();
});
void render();
