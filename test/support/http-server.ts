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

/** An answer of `fetchJson`: the status, the parsed JSON body (if any) and the headers. */
export interface JsonAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

/** One request over its own connection (Node's fetch), JSON in and out. */
export async function fetchJson(
  baseUrl: string,
  method: string,
  path: string,
  { body, headers = {} }: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonAnswer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}
