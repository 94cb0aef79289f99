import { HashingQueue } from '../../shared/auth/hashing-queue';
import { AppError } from '../../shared/errors';

/** A task that runs until the test lets it finish, and says when it started. */
function gate() {
  let finish!: () => void;
  let started = false;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    work: async () => {
      started = true;
      await done;
      return 'hashed';
    },
    finish: () => finish(),
    started: () => started,
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the bounded password-hashing queue', () => {
  it('when more tasks arrive than the concurrency, then only that many run and the rest wait their turn', async () => {
    const queue = new HashingQueue({ concurrency: 2, maxWaiting: 5 });
    const tasks = Array.from({ length: 4 }, gate);
    const results = tasks.map((task) => queue.run(task.work));
    await settle();
    expect(tasks.map((task) => task.started())).toEqual([true, true, false, false]);

    tasks[0]!.finish();
    await settle();
    expect(tasks.map((task) => task.started())).toEqual([true, true, true, false]);

    for (const task of tasks) task.finish();
    await expect(Promise.all(results)).resolves.toEqual(['hashed', 'hashed', 'hashed', 'hashed']);
  });

  it('when maxWaiting tasks already wait, then the next one is refused at once with 503 BUSY and a Retry-After, without running', async () => {
    const queue = new HashingQueue({ concurrency: 1, maxWaiting: 2 });
    const admitted = Array.from({ length: 3 }, gate);
    const results = admitted.map((task) => queue.run(task.work));
    const refused = gate();

    const refusal = await queue.run(refused.work).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({ status: 503, code: 'BUSY' });
    expect((refusal as AppError).details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.started()).toBe(false);

    for (const task of admitted) task.finish();
    await expect(Promise.all(results)).resolves.toHaveLength(3);
  });

  it('when a task fails, then its turn passes to the next one, and room is made again for new tasks', async () => {
    const queue = new HashingQueue({ concurrency: 1, maxWaiting: 0 });
    await expect(queue.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(queue.run(async () => 'next')).resolves.toBe('next');
    const busy = gate();
    const running = queue.run(busy.work);
    await expect(queue.run(async () => 'too many')).rejects.toMatchObject({ code: 'BUSY' });
    busy.finish();
    await running;
    await expect(queue.run(async () => 'room again')).resolves.toBe('room again');
  });
});
