import type { Request, Response } from 'express';
import { createSession, EventBuffer } from 'better-sse';
import Joi from 'joi';
import type { Catalogue } from '../../shared/catalogue/catalogue';
import type { Config } from '../../shared/config';
import { liveMapDropped } from '../../shared/metrics';
import type { RouteSpec } from '../http/route';
import { errorResponse, idParam } from '../http/schemas';
import { StreamSlots } from '../live/stream-slots';
import {
  isLogPosition,
  type LogPosition,
  type SeatLogEntry,
  type SeatMapFeed,
} from '../live/seat-map-feed';

export interface SeatStreamDependencies {
  catalogue: Catalogue;
  feed: SeatMapFeed;
  settings: Config['liveMap'];
}

/**
 * The live seat map (§4.7): Server-Sent Events through better-sse. First a `snapshot` (the seat
 * map as GET /api/v1/sessions/:id gives it), then `seats` events `{changes:[{id, status}]}` in
 * the order they happened; every event's id is its position in the session's change log, so a
 * client that reconnects with Last-Event-ID gets exactly what it missed, or a new snapshot when
 * that position has aged out of the (capped) log. A comment every LIVE_MAP_HEARTBEAT_SECONDS keeps
 * proxies from closing an idle stream. A client whose unsent events pass
 * LIVE_MAP_MAX_BUFFER_BYTES is not keeping up and is disconnected (it comes back with
 * Last-Event-ID) rather than buffered without bound. Streams are capped per client address and
 * per process, and refused before any Redis work; a session that has ended has no live map.
 */
export function seatStreamRoutes(deps: SeatStreamDependencies): RouteSpec[] {
  const snapshot = sharedSnapshots(deps);
  const encode = sharedEncoding();
  const slots = new StreamSlots(deps.settings);
  return [
    {
      method: 'get',
      path: '/api/v1/sessions/:id/seats/stream',
      tag: 'Catalogue',
      summary: `Live seat map (text/event-stream): a snapshot event, then seats events as seats change. Only for a session that has not ended; at most ${deps.settings.maxStreamsPerAddress} open streams per client address and ${deps.settings.maxStreams} per server (503 with Retry-After beyond)`,
      params: idParam(),
      headers: Joi.object({
        'last-event-id': Joi.string()
          .max(64)
          .description('The id of the last event received, to resume after a reconnect'),
      }),
      responses: {
        200: { description: 'An event stream: snapshot, then seats {changes:[{id, status}]}' },
        404: errorResponse('SESSION_NOT_FOUND (also once the session has ended)'),
        503: errorResponse(
          'TOO_MANY_STREAMS from this address, or STREAMS_BUSY (with Retry-After)',
        ),
      },
      handler: async ({ params, headers, req }) => {
        await streamSeatMap(
          deps,
          { snapshot, encode, slots },
          params.id as string,
          headers['last-event-id'],
          req,
        );
        return { status: 200, streamed: true };
      },
    },
  ];
}

interface Snapshot {
  position: LogPosition;
  json: string;
}

/**
 * A session's snapshot, computed once for every client that asks while it is being computed: a
 * premiere's audience arrives together, and each snapshot is the whole seat map. Sharing it is
 * safe: each client then follows the log from the snapshot's own position.
 */
function sharedSnapshots({ catalogue, feed }: SeatStreamDependencies) {
  const inFlight = new Map<string, Promise<Snapshot>>();
  return (sessionId: string): Promise<Snapshot> => {
    let snapshot = inFlight.get(sessionId);
    if (!snapshot) {
      snapshot = (async () => {
        // The position first, then the statuses: a change in between is in both, and applying
        // a status twice changes nothing, while the other order could lose one.
        const position = await feed.head(sessionId);
        return { position, json: (await catalogue.seatMapJson(sessionId)).toString() };
      })().finally(() => inFlight.delete(sessionId));
      inFlight.set(sessionId, snapshot);
    }
    return snapshot;
  };
}

/** Events are pushed as the JSON the scripts (or the catalogue) already wrote. */
const asWritten = (data: unknown) => data as string;

/**
 * The `seats` events of one read of a session's log, encoded once for every client that gets
 * that same read (the feed hands all up-to-date clients the same array): with 2 000 clients of
 * a premiere, a change is serialised once and written 2 000 times, not serialised 2 000 times.
 */
function sharedEncoding() {
  const encoded = new WeakMap<readonly SeatLogEntry[], EventBuffer>();
  return (entries: readonly SeatLogEntry[]): EventBuffer => {
    let events = encoded.get(entries);
    if (!events) {
      events = new EventBuffer({ serializer: asWritten });
      for (const [id, data] of entries) events.push(data, 'seats', id);
      encoded.set(entries, events);
    }
    return events;
  };
}

async function streamSeatMap(
  { catalogue, feed, settings }: SeatStreamDependencies,
  {
    snapshot,
    encode,
    slots,
  }: {
    snapshot: (sessionId: string) => Promise<Snapshot>;
    encode: (entries: readonly SeatLogEntry[]) => EventBuffer;
    slots: StreamSlots;
  },
  sessionId: string,
  lastEventId: string | undefined,
  req: Request,
): Promise<void> {
  const res = req.res as Response;
  // The slot is held until the answer ends, whatever it turns out to be (a 404 included).
  res.once('close', slots.take(req.ip ?? 'unknown'));
  await catalogue.upcomingSessionLayout(sessionId); // 404 before the stream starts
  const resumable =
    lastEventId !== undefined &&
    isLogPosition(lastEventId) &&
    (await feed.canResumeFrom(sessionId, lastEventId));
  const stream = await createSession(req, res, {
    keepAlive: settings.heartbeatMs,
    retry: 2_000,
    serializer: asWritten,
    trustClientEventId: false,
    headers: { 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' },
  });
  let position: LogPosition;
  // What a client may have unsent before it counts as falling behind: the limit, on top of its
  // snapshot (a big hall's snapshot alone can be larger than the limit).
  let allowance = settings.maxBufferBytes;
  if (resumable) position = lastEventId;
  else {
    const current = await snapshot(sessionId);
    position = current.position;
    allowance += Buffer.byteLength(current.json);
    stream.push(current.json, 'snapshot', position);
  }
  const unsubscribe = await feed.subscribe(sessionId, position, {
    deliver: (entries) => {
      if (!stream.isConnected) return;
      void stream.batch(encode(entries));
      if (res.writableLength > allowance) {
        liveMapDropped.inc();
        res.destroy();
      }
    },
    end: () => res.end(),
  });
  if (!stream.isConnected) unsubscribe();
  else stream.once('disconnected', unsubscribe);
}
