/**
 * Build step: the show_insights MCP Apps view (web/insights-app/) as ONE self-contained
 * HTML file, dist/apps/insights.html — scripts and styles inlined (vite-plugin-singlefile),
 * nothing fetched at run time. src/server/app-views.ts serves it as the ui:// resource.
 * Type-checks the view first (the root tsconfig covers only src/, without the DOM).
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { viteSingleFile } from 'vite-plugin-singlefile';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const app = join(root, 'web', 'insights-app');
const outDir = join(root, 'dist', 'apps');

const typecheck = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.json')], { stdio: 'inherit' });
if (typecheck.status !== 0) process.exit(typecheck.status ?? 1);

await build({
  root: app,
  configFile: false,
  logLevel: 'warn',
  plugins: [viteSingleFile({ removeViteModuleLoader: true })],
  build: {
    outDir,
    emptyOutDir: false,
    target: 'es2022',
    // Named after its source: web/insights-app/insights.html → dist/apps/insights.html.
    rollupOptions: { input: join(app, 'insights.html') },
  },
});

process.stderr.write(`insights view: ${Math.round(statSync(join(outDir, 'insights.html')).size / 1024)} KiB → dist/apps/insights.html\n`);
