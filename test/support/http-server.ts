import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export interface RealServer {
  baseUrl: string;
  /** Requests the server is working on right now, and the most it has seen at once since reset. */
  inFlight: { now: number; peak: number };
  close: () => Promise<void>;
}

/**
 * The app on a real port, for tests that fire truly concurrent requests (supertest starts one
 * server per request). Counts requests in flight, so a test can show they really overlapped.
 */
export async function startRealServer(app: Express): Promise<RealServer> {
  const server: Server = createServer(app);
  const inFlight = { now: 0, peak: 0 };
  server.on('request', (_req, res) => {
    inFlight.now += 1;
    inFlight.peak = Math.max(inFlight.peak, inFlight.now);
    res.on('close', () => {
      inFlight.now -= 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    inFlight,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
}
