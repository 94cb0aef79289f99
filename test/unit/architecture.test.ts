import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The layout's rules (§2), checked on the sources so a stray import fails the build. */
const ROOT = path.join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const relative = path.join(dir, name);
    if (statSync(path.join(ROOT, relative)).isDirectory()) return sources(relative);
    return /\.ts$/.test(name) && !/\.test\.ts$/.test(name) ? [relative] : [];
  });
}

/** Top-level folders and packages a file imports (relative imports resolved). */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/from '([^']+)'/g)].map(([, spec]) =>
    spec!.startsWith('.')
      ? path.normalize(path.join(path.dirname(file), spec!)).split(path.sep)[0]!
      : spec!,
  );
}

describe('the layout', () => {
  it('shared/ imports neither api/ nor workers/', () => {
    const offenders = sources('shared').filter((f) =>
      importsOf(f).some((i) => i === 'api' || i === 'workers'),
    );
    expect(offenders).toEqual([]);
  });

  it('api/ and workers/ never import each other', () => {
    expect(sources('api').filter((f) => importsOf(f).includes('workers'))).toEqual([]);
    expect(sources('workers').filter((f) => importsOf(f).includes('api'))).toEqual([]);
  });

  it('the API opens no RabbitMQ connection: loading it loads no AMQP code', () => {
    // A plain Node process: Jest's own module registry does not show in require.cache.
    const loaded = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "require('./api/app'); console.log(JSON.stringify(Object.keys(require.cache)))",
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    const modules = JSON.parse(loaded) as string[];
    expect(modules.some((m) => m.includes('/api/app'))).toBe(true);
    expect(
      modules.filter((m) => /node_modules\/amqplib|shared\/(rabbitmq|consumer)/.test(m)),
    ).toEqual([]);
  });
});
