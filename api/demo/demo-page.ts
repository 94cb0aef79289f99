import path from 'node:path';
import express, { type Router } from 'express';

const PUBLIC = path.join(__dirname, 'public');

/**
 * The demo page (§4.7, §4.8 as a person sees them): `/demo/sessions/:id` draws the session's live
 * seat map from its event stream and lets a signed-in buyer hold seats by clicking or by "best
 * 2/4/6". Static files only; everything it does goes through the public API.
 */
export function demoPage(): Router {
  const router = express.Router();
  router.get('/demo/sessions/:id', (_req, res) => {
    res.sendFile(path.join(PUBLIC, 'index.html'));
  });
  router.use('/demo', express.static(PUBLIC, { index: false, maxAge: '5m' }));
  return router;
}
