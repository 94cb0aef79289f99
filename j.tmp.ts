import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
const users = readFileSync('/tmp/users', 'utf8').trim().split('\n');
const seats = readFileSync('/tmp/seats', 'utf8').trim().split('\n');
let i = 0;
(async () => {
  const r = await autocannon({ url: 'http://127.0.0.1:3201/api/v1/holds', connections: 50, duration: 5,
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: JSON.stringify({ userId: users[i % users.length], seatIds: [seats[i++ % seats.length]] }) }) }] });
  console.log(r.requests.average, r.latency.p50, r.latency.p99, r.non2xx, JSON.stringify(r.statusCodeStats));
})();
