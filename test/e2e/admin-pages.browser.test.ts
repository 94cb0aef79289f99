/**
 * The pages a person opens — the rendered API docs and Bull Board — in a real browser (Debian's
 * Chromium, driven by playwright-core), under the security headers every response carries: they
 * must render, with no Content-Security-Policy violation. Screenshots go to
 * test-results/ (kept out of git) for a human look.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestApi, type TestApi } from '../support/api';
import { launchChromium } from '../support/browser';
import { startRealServer, type RealServer } from '../support/http-server';

const SCREENSHOTS = path.join(__dirname, '..', '..', 'test-results');

let api: TestApi;
let server: RealServer;
let browser: Browser;

beforeAll(async () => {
  // Bull Board as production serves it: read-only still renders every queue.
  api = await startTestApi({ BULL_BOARD_READ_ONLY: 'true' });
  server = await startRealServer(api.app);
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await api?.close();
});

/** A page that records every CSP violation and script error it meets. */
async function watchedPage(options: Parameters<Browser['newPage']>[0] = {}) {
  const page: Page = await browser.newPage(options);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/.test(msg.text()))
      problems.push(msg.text());
  });
  return { page, problems };
}

describe('pages for people, under the security headers', () => {
  it('when someone opens /api-docs, then the OpenAPI document renders with its routes, without a CSP violation', async () => {
    const { page, problems } = await watchedPage();
    const response = await page.goto(`${server.baseUrl}/api-docs/`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.locator('.swagger-ui .info .title').waitFor();
    expect(await page.locator('.swagger-ui .info .title').textContent()).toContain(
      'Cine-Starsoft checkout',
    );
    await page.getByText('/api/v1/auth/token').first().waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'api-docs.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('when an operator opens Bull Board with the admin password, then the queues render, without a CSP violation', async () => {
    const { page, problems } = await watchedPage({
      httpCredentials: { username: 'ops', password: api.db.config.adminToken },
    });
    await page.goto(`${server.baseUrl}/admin/queues`);
    await page.getByText('hold-expiry').first().waitFor();
    await page.getByText('payment-reconcile').first().waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'bull-board.png') });
    // Bull Board asks for Google's web fonts; the policy keeps the admin page from calling a third
    // party, and the board falls back to the system fonts. That refusal is the only one allowed.
    expect(
      problems.filter((problem) => !problem.includes('https://fonts.googleapis.com/')),
    ).toEqual([]);
    await page.close();
  });
});
