/** A dependency a process cannot serve without, and how to ask whether it answers. */
export interface HealthCheck {
  name: string;
  check: () => Promise<unknown>;
}

export interface HealthReport {
  status: 'ready' | 'unavailable';
  checks: Record<string, 'up' | 'down'>;
}

/** Runs every check at once; one that fails or outlasts `timeoutMs` counts as down. */
export async function checkHealth(checks: HealthCheck[], timeoutMs = 2000): Promise<HealthReport> {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      });
      try {
        await Promise.race([check(), timeout]);
        return [name, 'up'] as const;
      } catch {
        return [name, 'down'] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const report = Object.fromEntries(results);
  return {
    status: results.every(([, state]) => state === 'up') ? 'ready' : 'unavailable',
    checks: report,
  };
}
