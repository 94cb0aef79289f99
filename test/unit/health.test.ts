import { checkHealth, type HealthCheck } from '../../shared/health';

const up = (name: string): HealthCheck => ({ name, check: async () => 'PONG' });
const failing = (name: string): HealthCheck => ({
  name,
  check: async () => {
    throw new Error(`${name} refused the connection`);
  },
});
const hanging = (name: string): HealthCheck => ({ name, check: () => new Promise(() => {}) });

describe('checkHealth', () => {
  it('when every dependency answers, then the process is ready and each is up', async () => {
    await expect(checkHealth([up('postgres'), up('redis'), up('rabbitmq')])).resolves.toEqual({
      status: 'ready',
      checks: { postgres: 'up', redis: 'up', rabbitmq: 'up' },
    });
  });

  it('when one dependency fails, then the process is unavailable and names it down', async () => {
    await expect(checkHealth([up('postgres'), failing('redis'), up('rabbitmq')])).resolves.toEqual({
      status: 'unavailable',
      checks: { postgres: 'up', redis: 'down', rabbitmq: 'up' },
    });
  });

  it('when a check throws before returning a promise, then it counts as down', async () => {
    const broken: HealthCheck = {
      name: 'redis',
      check: () => {
        throw new Error('client not created');
      },
    };
    await expect(checkHealth([broken])).resolves.toEqual({
      status: 'unavailable',
      checks: { redis: 'down' },
    });
  });

  it('when one dependency hangs past the timeout, then it counts as down and the others still report', async () => {
    const started = Date.now();
    const report = await checkHealth([up('postgres'), hanging('rabbitmq')], 50);
    expect(report).toEqual({ status: 'unavailable', checks: { postgres: 'up', rabbitmq: 'down' } });
    // The timeout bounds the answer: it does not wait for the hanging check.
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('when checks run, then they run at once rather than one after another', async () => {
    let running = 0;
    let maxRunning = 0;
    const tracked = (name: string): HealthCheck => ({
      name,
      check: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await Promise.resolve();
        running--;
      },
    });
    await checkHealth([tracked('a'), tracked('b'), tracked('c')]);
    expect(maxRunning).toBe(3);
  });
});
