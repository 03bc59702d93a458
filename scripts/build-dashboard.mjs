/**
 * Build step: the dashboard page (web/dashboard: TypeScript and uPlot) type-checked, then
 * bundled by Vite into dist/dashboard/page/, where src/dashboard/assets.ts serves it from.
 * Everything the page runs is in those files: nothing comes from a CDN at run time.
 * (dist/dashboard/ itself holds the compiled routes from src/dashboard/, so the page gets
 * a folder of its own, which Vite empties and refills.)
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web', 'dashboard');
const require = createRequire(import.meta.url);

const checked = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(web, 'tsconfig.json')], { stdio: 'inherit' });
if (checked.status !== 0) {
  process.stderr.write('dashboard: the page does not type-check (see above); not built.\n');
  process.exit(checked.status ?? 1);
}

const { build } = await import('vite');
await build({ configFile: join(web, 'vite.config.ts') });
const out = join(root, 'dist', 'dashboard', 'page');
const files = readdirSync(join(out, 'assets'));
process.stderr.write(`dashboard page: index.html + ${files.length} assets → dist/dashboard/page/\n`);
