// tsc compiles TypeScript only: copy the other files the processes read at run time (the Redis
// Lua scripts, the demo page's static files) to the same place under dist/.
import { cpSync, existsSync } from 'node:fs';

for (const dir of ['shared', 'api']) {
  if (!existsSync(dir)) continue;
  cpSync(dir, `dist/${dir}`, {
    recursive: true,
    filter: (src) => !/\.(ts|md)$/.test(src),
  });
}
