import Joi from 'joi';
import { checkHealth, type HealthCheck } from '../../shared/health';
import type { RouteSpec } from '../http/route';

const healthReport = Joi.object({
  status: Joi.string().valid('ready', 'unavailable'),
  checks: Joi.object().pattern(Joi.string(), Joi.string().valid('up', 'down')),
}).label('HealthReport');

/**
 * Liveness says the process answers; readiness says what it depends on answers too (Postgres and
 * Redis for the API: it has no RabbitMQ connection, workers report theirs on their own port).
 */
export function healthRoutes({ checks }: { checks: HealthCheck[] }): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/health/live',
      tag: 'Ops',
      summary: 'The process is up',
      responses: { 200: { description: 'Alive', schema: Joi.object({ status: 'ok' }) } },
      handler: async () => ({ status: 200, body: { status: 'ok' } }),
    },
    {
      method: 'get',
      path: '/health/ready',
      tag: 'Ops',
      summary: 'Every dependency of this process answers',
      responses: {
        200: { description: 'Ready', schema: healthReport },
        503: { description: 'A dependency is down; `checks` names it', schema: healthReport },
      },
      handler: async () => {
        const report = await checkHealth(checks);
        return { status: report.status === 'ready' ? 200 : 503, body: report };
      },
    },
  ];
}
