import { parse as parseQuery } from 'node:querystring';
import express, { type Express } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import { BuyerAccounts } from '../shared/auth/buyer-accounts';
import { Catalogue } from '../shared/catalogue/catalogue';
import type { Config } from '../shared/config';
import type { Orm } from '../shared/db/orm';
import type { Logger } from '../shared/logger';
import type { Directory } from '../shared/catalogue/directory';
import { createHoldContext } from '../shared/holds/hold-context';
import { OrderWaits } from '../shared/orders/order-waits';
import type { CheckoutQueues } from '../shared/queues';
import { renderMetrics } from '../shared/metrics';
import { bullBoard } from './bull-board';
import { IdempotencyStore } from './http/idempotency';
import { buyerPage } from './page/buyer-page';
import { buildOpenApiDocument } from './http/openapi';
import { mountRoutes, type RouteSpec } from './http/route';
import { adminAuth, metricsAuth } from './middleware/admin-auth';
import { callerAuth } from './middleware/caller-auth';
import { BODY_LIMIT_KB, errorHandler, notFoundRoute } from './middleware/error-handler';
import { logContext, requestId } from './middleware/request-context';
import { authRateLimit, holdRateLimit } from './middleware/rate-limit';
import { authRoutes } from './routes/auth';
import { healthRoutes } from './routes/health';
import { holdRoutes } from './routes/holds';
import { orderRoutes } from './routes/orders';
import { movieRoutes } from './routes/movies';
import { roomRoutes } from './routes/rooms';
import { seedCompatRoutes } from './routes/seed-compat';
import { seatStreamRoutes } from './routes/seat-stream';
import { sessionRoutes } from './routes/sessions';
import { OrderSettlements } from './live/order-settlements';
import { SeatMapFeed } from './live/seat-map-feed';
import { userRoutes } from './routes/users';
import type { RedisClient } from '../shared/redis';

/**
 * helmet's defaults (CSP, HSTS, nosniff, frame and referrer policies, …). The rendered API docs
 * and Bull Board are same-origin pages whose scripts and styles come from this server; Bull
 * Board also uses inline styles and data: images, which its CSP allows.
 */
const SECURITY_HEADERS: Parameters<typeof helmet>[0] = {
  contentSecurityPolicy: {
    directives: {
      'img-src': ["'self'", 'data:'],
      'style-src': ["'self'", "'unsafe-inline'"],
      // Served over plain HTTP in development and behind a TLS proxy in production: upgrading
      // would send the docs' own scripts to an https:// origin nothing listens on.
      'upgrade-insecure-requests': null,
    },
  },
};

/** Query parameters read from one URL; the rest are ignored. */
const MAX_QUERY_PARAMETERS = 32;

export interface AppDependencies {
  config: Config;
  logger: Logger;
  orm: Orm;
  redis: RedisClient;
  queues: CheckoutQueues;
  /** Warmed by the caller (it queries Postgres). */
  directory: Directory;
  /**
   * Follows the seat change logs for live seat maps; the caller closes it on shutdown (it ends
   * every open stream). Made here when not given; it opens nothing until a client subscribes.
   */
  seatMapFeed?: SeatMapFeed;
  /**
   * Wakes order reads waiting with `Prefer: wait`; the caller closes it on shutdown (waiting
   * requests then answer at once). Made here when not given; it subscribes on first use.
   */
  orderSettlements?: OrderSettlements;
}

/**
 * Composes the HTTP API from its parts around connections opened by the caller (api/main.ts, or
 * a test), which also closes them. No I/O happens here.
 */
export function createApp({
  config,
  logger,
  orm,
  redis,
  queues,
  directory,
  seatMapFeed = new SeatMapFeed(redis, logger, { batchMs: config.liveMap.batchMs }),
  orderSettlements = new OrderSettlements(redis, logger),
}: AppDependencies): Express {
  const catalogue = new Catalogue(orm, redis, config.catalogueCacheTtlSeconds);
  const accounts = new BuyerAccounts(orm, redis, config.auth, config.passwordHashing);
  const authLimits = authRateLimit(redis, config.authRateLimit);
  const holdDeps = {
    ctx: createHoldContext(redis, config.holds, queues),
    directory,
    catalogue,
    rateLimit: holdRateLimit(redis, config.rateLimit),
  };
  const app = express();
  app.disable('x-powered-by');
  // Every answer is live (seat maps, holds): an ETag would cost a hash of each body for nothing.
  app.set('etag', false);
  // Whose X-Forwarded-For to believe (rate limits per address): only the proxies named.
  app.set('trust proxy', config.trustProxy);
  // Express 5's own parser (node:querystring, flat) stops at 1 000 parameters; no route reads
  // more than a handful, and each unknown one would cost a validation error.
  app.set('query parser', (query: string) =>
    parseQuery(query, undefined, undefined, { maxKeys: MAX_QUERY_PARAMETERS }),
  );

  const routes: RouteSpec[] = [
    ...healthRoutes({
      checks: [
        { name: 'postgres', check: () => orm.em.getConnection().execute('select 1') },
        { name: 'redis', check: () => redis.ping() },
      ],
    }),
    ...authRoutes({ accounts, limits: authLimits }),
    ...userRoutes({ accounts, limits: authLimits }),
    ...movieRoutes({ catalogue }),
    ...roomRoutes({ catalogue }),
    ...sessionRoutes({ catalogue }),
    ...seatStreamRoutes({ catalogue, feed: seatMapFeed, settings: config.liveMap }),
    ...holdRoutes(holdDeps, config.holds.maxSeatsPerHold),
    ...orderRoutes({
      ...holdDeps,
      orm,
      settlements: orderSettlements,
      waits: new OrderWaits(redis),
    }),
    // The seed's routes name the buyer by `usuario_id` alone: development only (SEED_ROUTES).
    ...(config.seedRoutes
      ? seedCompatRoutes({ ...holdDeps, accounts }, config.holds.maxSeatsPerHold)
      : []),
  ];
  const openApi = buildOpenApiDocument(routes, { title: 'Cine-Starsoft checkout', version: '1' });

  app.use(helmet(SECURITY_HEADERS));
  app.use(requestId(logger));
  app.use(express.json({ limit: `${BODY_LIMIT_KB}kb` }));
  app.use(logContext);

  // The API first: a hold or a seat map is not walked past the docs, page and admin mounts.
  const router = express.Router();
  mountRoutes(router, routes, {
    adminAuth: adminAuth(config.adminToken),
    callerAuth: callerAuth({ adminToken: config.adminToken, accounts }),
    idempotency: new IdempotencyStore(redis, config.auth.jwtSecret),
  });
  app.use(router);

  app.get('/api-docs.json', (_req, res) => {
    res.json(openApi);
  });
  app.use('/api-docs', swaggerUi.serve, swaggerUi.setup(openApi));
  app.use(buyerPage());

  app.use(
    '/admin/queues',
    adminAuth(config.adminToken, { allowBasic: true }),
    bullBoard(queues, { readOnly: config.bullBoardReadOnly }),
  );
  app.get('/metrics', metricsAuth(config.metricsToken), async (_req, res) => {
    const { contentType, body } = await renderMetrics();
    res.type(contentType).send(body);
  });

  app.use(notFoundRoute);
  app.use(errorHandler(logger));
  return app;
}
