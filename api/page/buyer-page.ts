import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';

/** The page's stylesheet and browser modules (compiled from ./src by api/page/tsconfig.json). */
const ASSETS = path.join(__dirname, 'public');
const HTML = path.join(__dirname, 'index.html');

/**
 * Stricter than the API-wide policy in api/app.ts (which allows inline styles for Bull Board):
 * the page loads its own files only and talks to its own origin only.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * A digest of every asset, so their URLs change whenever any of them does: they can then be
 * cached for good, and a deploy is seen at the next load of the (never cached) HTML. Browser
 * modules import each other by relative URL, so one version for the whole folder keeps those
 * imports consistent without rewriting them.
 */
function assetsVersion(): string {
  const hash = createHash('sha256');
  const files = readdirSync(ASSETS, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
  for (const file of files) hash.update(path.relative(ASSETS, file)).update(readFileSync(file));
  return hash.digest('hex').slice(0, 12);
}

/**
 * The buyer's page (§4.10) at `/`: one HTML document and its static assets; everything it does
 * goes through the public API. The old demo address redirects to it.
 */
export function buyerPage(): Router {
  const version = assetsVersion();
  const html = readFileSync(HTML, 'utf8').replaceAll('%ASSETS%', `/assets/${version}`);
  const etag = `"${createHash('sha256').update(html).digest('hex').slice(0, 16)}"`;
  const router = express.Router();

  router.get('/', (req, res) => {
    res.set({
      'Content-Security-Policy': PAGE_CSP,
      'Cache-Control': 'no-cache',
      ETag: etag,
    });
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    res.type('html').send(html);
  });
  router.use(
    `/assets/${version}`,
    express.static(ASSETS, { index: false, immutable: true, maxAge: '365d', fallthrough: true }),
  );
  router.get('/demo/sessions/:id', (req, res) => {
    res.redirect(301, `/?session=${encodeURIComponent(req.params.id)}`);
  });
  return router;
}
