/**
 * The demo page (`/demo/sessions/:id`) in a real browser (Debian's Chromium via playwright-core):
 * the seat map is drawn from the live stream, a seat changes colour when another client holds it,
 * and a signed-in buyer gets the best two seats together with one click.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startTestApi, type TestApi } from '../support/api';
import { launchChromium } from '../support/browser';
import { DEMO_PASSWORD } from '../support/buyers';
import { holdSeats, seededCinema, type SeatMap, type User } from '../support/cinema';
import { startRealServer, type RealServer } from '../support/http-server';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';

const SCREENSHOTS = path.join(__dirname, '..', '..', 'test-results');

let redisDb: OwnRedisDb;
let api: TestApi;
let server: RealServer;
let browser: Browser;
let session: SeatMap;
let users: User[];

beforeAll(async () => {
  redisDb = await claimRedisDb();
  api = await startTestApi({ REDIS_DB: redisDb.db });
  await redisDb.mark();
  server = await startRealServer(api.app);
  ({ big: session, users } = await seededCinema(api.app));
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await api?.close();
  await redisDb?.release();
});

describe('the demo page', () => {
  it('when a buyer watches a session, then a seat turns held as another client holds it, and "best 2" holds two adjacent seats for them', async () => {
    const page = await browser.newPage({ viewport: { width: 760, height: 640 } });
    page.setDefaultTimeout(10_000);
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${server.baseUrl}/demo/sessions/${session.id}`);
    await page.locator('#seats .seat').nth(199).waitFor();
    expect(await page.locator('#seats .seat').count()).toBe(200);
    expect(await page.locator('#seats .seat.available').count()).toBe(200);

    // Another buyer, elsewhere, takes two seats of row A: they change colour here.
    const taken = session.seats.slice(8, 10).map((s) => s.id);
    await holdSeats(api.app, users[1]!.id, taken);
    for (const id of taken) await page.locator(`[data-id="${id}"].held`).waitFor();

    await page.fill('input[name=email]', users[0]!.email);
    await page.fill('input[name=password]', DEMO_PASSWORD);
    await page.click('#sign-in button');
    await page.locator('#who', { hasText: 'Signed in as' }).waitFor();
    await page.click('button[data-best="2"]');
    await page.locator('#status', { hasText: 'Held 2 seat(s)' }).waitFor();
    const mine = page.locator('#seats .seat.mine');
    expect(await mine.count()).toBe(2);
    const labels = await mine.evaluateAll((nodes) =>
      nodes.map((node) => node.getAttribute('data-label')!),
    );
    const [row, numbers] = [labels.map((l) => l[0]), labels.map((l) => Number(l.slice(1)))];
    expect(row[0]).toBe(row[1]);
    expect(Math.abs(numbers[0]! - numbers[1]!)).toBe(1);

    await page.screenshot({ path: path.join(SCREENSHOTS, 'demo-seat-map.png') });
    expect(errors).toEqual([]);
    await page.close();
  });
});
