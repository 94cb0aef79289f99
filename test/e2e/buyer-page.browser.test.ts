/**
 * The buyer's page (§4.10) in real Chromium (Debian's, driven by playwright-core) against the
 * real services and every worker: a whole purchase made with the keyboard, a declined card and a
 * second try, two buyers racing for one seat, a hold that runs out on screen, axe's
 * accessibility check, a phone-sized screenshot, and how the page is served. Every page fails
 * its test on a script error or a Content-Security-Policy refusal.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import request from 'supertest';
import { accessTokens } from '../../shared/auth/access-tokens';
import { apiInstance, startTestApi, type TestApi } from '../support/api';
import { buildBuyerPage, launchChromium } from '../support/browser';
import { BUYER_PASSWORD, DEMO_PASSWORD } from '../support/buyers';
import { holdSeats, seededCinema, type SeatMap, type User } from '../support/cinema';
import { openMany } from '../../bench/support/floods';
import { startRealServer, type RealServer } from '../support/http-server';
import { createTestVhost, type TestVhost } from '../support/rabbitmq';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';
import { waitFor } from '../support/wait';
import { EVERY_WORKER, startWorkers } from '../support/workers';

const ROOT = path.join(__dirname, '..', '..');
const SCREENSHOTS = path.join(ROOT, 'test-results');
/** Kept in git and shown in the README; refreshed when UPDATE_SCREENSHOTS=1. */
const DOCS_SCREENSHOT = path.join(ROOT, 'docs', 'buyer-page.png');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
/** The hold limit's window on the API instance that refuses holds for a moment. */
const RATE_WINDOW_SECONDS = 4;
/** LIVE_MAP_MAX_STREAMS_PER_ADDRESS's default: the page's stream is one more. */
const STREAMS_PER_ADDRESS = 8;
/** The hold's life on the API instance the expiry test's buyer uses. */
const SHORT_HOLD_TTL_SECONDS = 3;

jest.setTimeout(90_000);

let redisDb: OwnRedisDb;
let vhost: TestVhost;
let api: TestApi;
let workers: { stop: () => Promise<void> };
let server: RealServer;
let browser: Browser;
let users: User[];
let big: SeatMap;
let small: SeatMap;
/** The other 200-seat session, so tests of this file never want the same seats. */
let otherBig: string;

beforeAll(async () => {
  buildBuyerPage();
  redisDb = await claimRedisDb();
  vhost = await createTestVhost();
  api = await startTestApi({ REDIS_DB: redisDb.db, RABBITMQ_URL: vhost.url });
  await redisDb.mark();
  workers = await startWorkers(api.db.config, EVERY_WORKER);
  server = await startRealServer(api.app);
  let sessions: { id: string; seatsTotal: number }[];
  ({ users, big, small, sessions } = await seededCinema(api.app));
  otherBig = sessions.filter((s) => s.seatsTotal === 200 && s.id !== big.id)[0]!.id;
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await workers?.stop();
  await api?.close();
  await vhost?.delete();
  await redisDb?.release();
});

/** A page of its own browser context (its own memory: another buyer), watched for problems. */
async function buyerPage(options: BrowserContextOptions = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/.test(msg.text()))
      problems.push(msg.text());
  });
  return { page, problems, close: () => context.close() };
}

async function signIn(page: Page, email: string, password = DEMO_PASSWORD) {
  await page.fill('#sign-in-form [name=email]', email);
  await page.fill('#sign-in-form [name=password]', password);
  await page.click('#sign-in-form button[type=submit]');
  await page.locator('#who', { hasText: 'Signed in as' }).waitFor();
}

/** A seat's button, found by what a screen reader reads. */
const seat = (page: Page, row: string, number: number) =>
  page.locator(`#seat-map button[aria-label^="Row ${row}, seat ${number},"]`);

const stateOf = (page: Page, row: string, number: number) =>
  seat(page, row, number).getAttribute('data-state');

const untilState = (page: Page, row: string, number: number, state: string) =>
  page
    .locator(`#seat-map button[aria-label^="Row ${row}, seat ${number},"][data-state="${state}"]`)
    .waitFor();

/** Clicks `selector` every half second until `done`, as a person retrying a refused action. */
const clickUntil = (page: Page, selector: string, done: () => Promise<boolean>) =>
  waitFor(
    async () => {
      if (await done()) return true;
      // The control turns disabled once the action works: a click that finds it so is moot.
      await page.click(selector, { timeout: 1_000 }).catch(() => undefined);
      return done();
    },
    { timeoutMs: (RATE_WINDOW_SECONDS + 5) * 1000, intervalMs: 500, what: `${selector} to work` },
  );

const focusedId = (page: Page) =>
  page.evaluate('document.activeElement && document.activeElement.id');

/** axe's serious and critical findings on the page as it is now. */
async function axeFindings(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const violations = (await page.evaluate(
    `axe.run().then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, where: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`,
  )) as { id: string; impact: string; help: string; where: string[] }[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.where.join(', ')}`);
}

describe("the buyer's page", () => {
  it('when a new buyer signs up, holds two seats with the keyboard, confirms and pays by pix, then the paid order shows their seat labels and their history lists it', async () => {
    const { page, problems, close } = await buyerPage();
    await page.goto(server.baseUrl);
    await page.locator(`#movies a[href="/?session=${big.id}"]`).waitFor();
    const email = `bia.${Date.now()}@example.com`;
    await page.click('#sign-up summary');
    await page.fill('#sign-up-form [name=name]', 'Bia Lima');
    await page.fill('#sign-up-form [name=email]', email);
    await page.fill('#sign-up-form [name=password]', BUYER_PASSWORD);
    await page.click('#sign-up-form button[type=submit]');
    await page.locator('#who', { hasText: 'Signed in as Bia Lima' }).waitFor();

    await page.click(`#movies a[href="/?session=${big.id}"]`);
    await page.locator('#seat-map button').nth(199).waitFor();
    // One tab stop for the whole map; the arrows walk it: down to row C, right to seat 7.
    await page.locator('#seat-map button[tabindex="0"]').focus();
    for (const key of ['ArrowDown', 'ArrowDown', ...Array<string>(6).fill('ArrowRight')]) {
      await page.keyboard.press(key);
    }
    await page.keyboard.press('Enter');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Space');
    expect(await page.locator('#seat-map button:focus').getAttribute('aria-label')).toBe(
      'Row C, seat 8, picked by you, not held yet',
    );
    await page.keyboard.press('Tab');
    expect(await focusedId(page)).toBe('hold-picked');
    await page.keyboard.press('Enter');
    await untilState(page, 'C', 7, 'mine');
    await untilState(page, 'C', 8, 'mine');
    expect(await seat(page, 'C', 7).getAttribute('aria-label')).toBe('Row C, seat 7, held for you');
    await page.locator('#hold-clock', { hasText: 'left' }).waitFor();
    expect(await focusedId(page)).toBe('confirm');
    await page.keyboard.press('Enter');

    await page.locator('#payment-form').waitFor();
    await page.click('#payment-form button[type=submit]'); // pix is the default method
    await page.locator('#order-status[data-status="paid"]').waitFor();
    expect(new URL(page.url()).searchParams.get('order')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await page.locator('#order-details').textContent()).toContain('C7, C8');

    await page.click('#order-history');
    await page.locator('#history li[data-status="paid"]', { hasText: 'C7, C8' }).waitFor();
    await page.click('#sign-out');
    await page.locator('#account').waitFor();
    expect(await page.locator('#who').textContent()).toBe('');
    await signIn(page, email, BUYER_PASSWORD);
    await page.locator('#history li[data-status="paid"]', { hasText: 'C7, C8' }).waitFor();

    expect(problems).toEqual([]);
    await close();
  });

  it('when the buyer pays with the declined test card, then the decline is shown and a second payment with a good card buys the seats', async () => {
    const { page, problems, close } = await buyerPage();
    await page.goto(`${server.baseUrl}/?session=${otherBig}`);
    await signIn(page, users[1]!.email);
    await page.click('button[data-best="2"]');
    await page.locator('#seat-map button[data-state="mine"]').nth(1).waitFor();
    await page.click('#confirm');
    await page.check('#payment-form input[value="credit_card"]');
    await page.fill('[name=number]', '4111 1111 1111 1112');
    await page.fill('[name=holderName]', 'Ana Souza');
    await page.fill('[name=expMonth]', '12');
    await page.fill('[name=expYear]', '2031');
    await page.fill('[name=cvv]', '123');
    await page.click('#payment-form button[type=submit]');
    // Told beside the field, before anything is sent.
    await page.locator('#error-number', { hasText: 'not a valid card number' }).waitFor();

    await page.fill('[name=number]', '4000 0000 0000 0002');
    await page.click('#payment-form button[type=submit]');
    await page.locator('#problem', { hasText: 'declined' }).waitFor();
    expect(await page.locator('#hold-panel').isVisible()).toBe(true);
    expect(await page.locator('#seat-map button[data-state="mine"]').count()).toBe(2);

    await page.fill('[name=number]', '4111 1111 1111 1111');
    await page.click('#payment-form button[type=submit]');
    await page.locator('#order-status[data-status="paid"]').waitFor();
    expect(await page.locator('#order-details').textContent()).toContain('Credit card ending 1111');

    expect(problems).toEqual([]);
    await close();
  });

  it('when two buyers hold the same seat at once, then exactly one holds it and the other is told it was taken and sees it held', async () => {
    const buyers = await Promise.all([buyerPage(), buyerPage()]);
    await Promise.all(
      buyers.map(async ({ page }, i) => {
        await page.goto(`${server.baseUrl}/?session=${small.id}`);
        await signIn(page, users[2 + i]!.email);
        await seat(page, 'B', 2).click();
        await untilState(page, 'B', 2, 'picked');
      }),
    );
    // Forced: if the rival's hold reaches this map first, the button is already disabled.
    await Promise.all(buyers.map(({ page }) => page.click('#hold-picked', { force: true })));
    await Promise.all(
      buyers.map(({ page }) =>
        page
          .locator('#seat-map button[data-state="mine"], #problem:has-text("took")')
          .first()
          .waitFor(),
      ),
    );
    const states = await Promise.all(buyers.map(({ page }) => stateOf(page, 'B', 2)));
    expect([...states].sort()).toEqual(['held', 'mine']);
    const loser = buyers[states.indexOf('held')]!.page;
    expect(await loser.locator('#problem').textContent()).toContain('took');

    for (const { problems, close } of buyers) {
      expect(problems).toEqual([]);
      await close();
    }
  });

  it('when a hold is left alone, then it runs out on screen and its seat turns available for a watcher who came by the old demo address', async () => {
    // Another API instance on the same database, whose holds last SHORT_HOLD_TTL_SECONDS.
    const config = {
      ...api.db.config,
      holds: { ...api.db.config.holds, ttlSeconds: SHORT_HOLD_TTL_SECONDS },
    };
    const shortLived = await apiInstance({ config, orm: api.db.orm });
    const shortServer = await startRealServer(shortLived.app);
    const [buyer, watcher] = await Promise.all([buyerPage(), buyerPage()]);
    try {
      await watcher.page.goto(`${server.baseUrl}/demo/sessions/${small.id}`);
      expect(watcher.page.url()).toBe(`${server.baseUrl}/?session=${small.id}`);
      await untilState(watcher.page, 'D', 4, 'available');

      await buyer.page.goto(`${shortServer.baseUrl}/?session=${small.id}`);
      await signIn(buyer.page, users[4]!.email);
      await seat(buyer.page, 'D', 4).click();
      await buyer.page.click('#hold-picked');
      await untilState(buyer.page, 'D', 4, 'mine');
      await buyer.page.locator('#hold-clock', { hasText: '0:0' }).waitFor();
      await untilState(watcher.page, 'D', 4, 'held');

      await buyer.page.locator('#problem', { hasText: 'ran out' }).waitFor();
      expect(await buyer.page.locator('#hold-panel').isHidden()).toBe(true);
      await untilState(buyer.page, 'D', 4, 'available');
      await untilState(watcher.page, 'D', 4, 'available');
      expect([...buyer.problems, ...watcher.problems]).toEqual([]);
    } finally {
      await buyer.close();
      await watcher.close();
      await shortServer.close();
      await shortLived.queues.close();
      await shortLived.redis.quit();
    }
  });

  it('when the box office refuses for a moment (the live map at its cap for this address, a hold rate-limited), then the page says so in words and carries on', async () => {
    // Real refusals of a crowd: another API instance whose hold limit is one request per buyer
    // per RATE_WINDOW_SECONDS, and this address already holding every live-map stream it may.
    const config = {
      ...api.db.config,
      rateLimit: { perUser: 1, perIp: 0, windowSeconds: RATE_WINDOW_SECONDS },
    };
    const limited = await apiInstance({ config, orm: api.db.orm });
    const limitedServer = await startRealServer(limited.app);
    const path = `/api/v1/sessions/${small.id}/seats/stream`;
    const crowd = await openMany(limitedServer.baseUrl, path, STREAMS_PER_ADDRESS);
    const { page, problems, close } = await buyerPage();
    try {
      expect(crowd.tally.byStatus).toEqual({ 200: STREAMS_PER_ADDRESS });
      await page.goto(`${limitedServer.baseUrl}/?session=${small.id}`);
      await page.locator('#problem', { hasText: 'live seat map is busy' }).waitFor();
      crowd.hangUpAll();
      await untilState(page, 'A', 3, 'available'); // the page opened the stream again by itself
      await signIn(page, users[8]!.email);
      // The buyer spends this window's one hold request in another tab (a release of a hold
      // that is not there: refused, but counted), just before the page holds.
      const otherTab = await accessTokens(api.db.config.auth).issue({
        sub: users[8]!.id,
        fam: randomUUID(),
      });
      await request(limited.app)
        .delete(`/api/v1/holds/${randomUUID()}`)
        .set('Authorization', `Bearer ${otherTab.token}`)
        .set('X-Hold-Token', 'x'.repeat(43));
      await seat(page, 'A', 3).click();
      await page.click('#hold-picked');
      await page.locator('#problem', { hasText: /busy\. Please try again in \d+ s/ }).waitFor();
      // The buyer tries again until the window has passed, as a person would, and so releases.
      await clickUntil(page, '#hold-picked', async () => (await stateOf(page, 'A', 3)) === 'mine');
      await clickUntil(page, '#release', async () => (await stateOf(page, 'A', 3)) === 'available');
      expect(problems).toEqual([]);
    } finally {
      crowd.hangUpAll();
      await close();
      await limitedServer.close();
      await limited.queues.close();
      await limited.redis.quit();
    }
  });

  it('when the access token ages or the buyer is signed out elsewhere, then the page refreshes the token, or says so in words and carries on after a new sign-in', async () => {
    const { page, problems, close } = await buyerPage();
    // The page's own clock, to age its access token without waiting for it.
    await page.clock.install();
    let bearer = '';
    page.on('request', (req) => {
      bearer = req.headers()['authorization'] ?? bearer;
    });
    await page.goto(`${server.baseUrl}/?session=${small.id}`);
    await untilState(page, 'A', 3, 'available');
    await signIn(page, users[8]!.email);

    // 880 s on, the 900 s token is refreshed before the next call rather than refused by it.
    await page.clock.fastForward('14:40');
    await seat(page, 'A', 3).click();
    const refresh = page.waitForResponse((res) => res.url().endsWith('/api/v1/auth/refresh'));
    await page.click('#hold-picked');
    expect((await refresh).status()).toBe(200);
    await untilState(page, 'A', 3, 'mine');
    await page.click('#release');
    await untilState(page, 'A', 3, 'available');

    // Signed out elsewhere: the refresh is refused, the page says so and a new sign-in goes on.
    await request(api.app).post('/api/v1/auth/logout').set('Authorization', bearer).expect(204);
    await page.clock.fastForward('15:00');
    await seat(page, 'A', 3).click();
    await page.click('#hold-picked');
    await page.locator('#problem', { hasText: 'signed out' }).waitFor();
    await signIn(page, users[8]!.email);
    await page.click('#hold-picked');
    await untilState(page, 'A', 3, 'mine');

    expect(problems).toEqual([]);
    await close();
  });

  it('when axe checks the session list, the seat map with a hold and the card form, and the order, then it finds nothing serious or critical', async () => {
    const { page, problems, close } = await buyerPage();
    await page.goto(server.baseUrl);
    await page.locator('#movies a').first().waitFor();
    expect(await axeFindings(page)).toEqual([]);

    await signIn(page, users[5]!.email);
    await page.click(`#movies a[href="/?session=${big.id}"]`);
    await seat(page, 'F', 10).click();
    await page.click('#hold-picked');
    await untilState(page, 'F', 10, 'mine');
    await seat(page, 'F', 12).click(); // told it must confirm or release first
    await page.click('#confirm');
    await page.check('#payment-form input[value="credit_card"]');
    await page.locator('#card-fields').waitFor();
    expect(await axeFindings(page)).toEqual([]);

    await page.check('#payment-form input[value="pix"]');
    await page.click('#payment-form button[type=submit]');
    await page.locator('#order-status[data-status="paid"]').waitFor();
    expect(await axeFindings(page)).toEqual([]);

    expect(problems).toEqual([]);
    await close();
  });

  it('when a phone-sized screen shows a live seat map, then the page does not overflow sideways and seats keep their place as others hold seats', async () => {
    const { page, problems, close } = await buyerPage({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    await page.goto(`${server.baseUrl}/?session=${big.id}`);
    await signIn(page, users[6]!.email);
    await page.click('button[data-best="2"]');
    await page.locator('#seat-map button[data-state="mine"]').nth(1).waitFor();

    const before = await seat(page, 'E', 6).boundingBox();
    const others = big.seats.filter((s) => s.row === 'E' && s.number >= 5 && s.number <= 8);
    await holdSeats(
      api.app,
      users[7]!.id,
      others.map((s) => s.id),
    );
    await untilState(page, 'E', 8, 'held');
    expect(await seat(page, 'E', 6).boundingBox()).toEqual(before);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);

    await page.evaluate('window.scrollTo(0, 0)');
    const shot = path.join(SCREENSHOTS, 'buyer-page.png');
    await page.screenshot({ path: shot });
    if (process.env.UPDATE_SCREENSHOTS === '1') copyFileSync(shot, DOCS_SCREENSHOT);
    expect(problems).toEqual([]);
    await close();
  });

  it('when the page is asked for, then its HTML is never cached stale, its assets are cached for good under a versioned path, its policy allows its own files only, and the old demo address redirects to it', async () => {
    const html = await request(api.app).get('/').expect(200).expect('Content-Type', /html/);
    expect(html.headers['cache-control']).toBe('no-cache');
    const csp = html.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    await request(api.app).get('/').set('If-None-Match', html.headers.etag!).expect(304);

    const script = /<script type="module" src="([^"]+)"/.exec(html.text)![1]!;
    expect(script).toMatch(/^\/assets\/[0-9a-f]{12}\/js\/main\.js$/);
    const asset = await request(api.app).get(script).expect(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toContain('immutable');
    await request(api.app).get('/assets/000000000000/js/main.js').expect(404);

    await request(api.app)
      .get(`/demo/sessions/${small.id}`)
      .expect(301)
      .expect('Location', `/?session=${small.id}`);
  });
});
