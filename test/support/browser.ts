import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`.ci/run` installs it), or the one CHROMIUM_PATH names. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless Chromium for browser tests, with the flags this machine needs: no sandbox (tests run
 * as root), and none of the background networking its closed network would refuse.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Compiles the buyer's page for the browser (api/page/src → api/page/public/js) as `npm run
 * build` does: the API under test runs from source, and serves whatever that folder holds.
 */
export function buildBuyerPage(): void {
  execFileSync(process.execPath, [
    require.resolve('typescript/bin/tsc'),
    '-p',
    path.join(__dirname, '..', '..', 'api', 'page', 'tsconfig.json'),
  ]);
}
