// The physical reference for a hold on this machine: a bare Express 5 app doing one Redis
// SET NX EX per request, nothing else; and for a seat map: one Redis GET, then the same bytes
// the API answers (uploaded once by the bench). Started by bench/run.ts as its own process.
import express from 'express';
import { Redis } from 'ioredis';

const redis = new Redis({
  host: process.env.REDIS_HOST ?? '127.0.0.1',
  port: Number(process.env.REDIS_PORT ?? 6379),
  db: Number(process.env.REDIS_DB ?? 15),
});
const app = express();
// Before the JSON parser: the seat map is kept as the raw bytes the API sent.
let seatMap = Buffer.from('{}');
app.put('/seat-map', express.raw({ type: 'application/json', limit: '5mb' }), (req, res) => {
  seatMap = req.body;
  res.status(204).end();
});
app.get('/seat-map', async (_req, res) => {
  await redis.get('baseline:seat-map-version');
  // Written as it is, as the API writes its cached answer: no ETag hashed over 20 KB per request.
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(seatMap);
});
app.use(express.json());
let n = 0;
app.post('/hold', async (req, res) => {
  const ok = await redis.set(
    `baseline:${process.pid}:${n++}`,
    req.body?.userId ?? 'x',
    'EX',
    30,
    'NX',
  );
  res.status(ok ? 201 : 409).json({ ok: Boolean(ok) });
});
app.get('/health/ready', (_req, res) => res.json({ status: 'ready' }));
const server = app.listen(Number(process.env.PORT ?? 3100));
process.on('SIGTERM', () => server.close(() => redis.quit().then(() => process.exit(0))));
