/**
 * The dashboard stays out of cold start: `--http` answers MCP without loading the
 * dashboard's routes, panels or page (only the few lines that mount it and make the one-time
 * link), and loads them on the first request to /dashboard. Spawns dist/.
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { callTool, connectHttp, pollUntil, startHttpServer } from '../helpers/server-process.js';

const TRACE = fileURLToPath(new URL('./fixtures/trace-dashboard.mjs', import.meta.url));

it('loads the dashboard on its first request, not at start-up', async () => {
  const server = await startHttpServer({ args: ['--toolsets', 'all'], nodeOptions: ['--import', TRACE] });
  try {
    const client = await connectHttp(server.url);
    expect((await callTool(client, 'get_server_status', {})).isError).toBe(false);
    await client.close();
    const loaded = () => [...server.stderr().matchAll(/LOADED \S+\/dist\/dashboard\/(\S+)/g)].map((m) => m[1]);
    expect(loaded()).toEqual(['mount.js']);
    expect(server.stderr()).toMatch(/Dashboard: http:\/\/127\.0\.0\.1:\d+\/dashboard#token=/);

    const page = await fetch(server.url.replace(/\/mcp$/, '/dashboard'));
    expect(page.status).toBe(200);
    await pollUntil(async () => (loaded().includes('dashboard.js') ? true : undefined));
    expect(loaded()).toEqual(expect.arrayContaining(['mount.js', 'dashboard.js', 'panels.js', 'access.js']));
  } finally {
    await server.stop();
  }
});
