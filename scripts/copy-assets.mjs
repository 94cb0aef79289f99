// tsc compiles TypeScript only: copy the other files the processes read at run time (the Redis
// Lua scripts, the buyer's page: its HTML, stylesheet and the browser modules that
// api/page/tsconfig.json compiled into api/page/public/js) to the same place under dist/.
import { cpSync, existsSync } from 'node:fs';

for (const dir of ['shared', 'api']) {
  if (!existsSync(dir)) continue;
  cpSync(dir, `dist/${dir}`, {
    recursive: true,
    // Sources stay behind: TypeScript, prose, and the browser page's compiler settings.
    filter: (src) => !/\.(ts|md)$|tsconfig\.json$|(^|[/\\])api[/\\]page[/\\]src$/.test(src),
  });
}
