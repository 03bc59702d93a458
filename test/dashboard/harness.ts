/**
 * The dashboard's routes in this process, on a loopback port of their own, over the real
 * app (startApp's services on the embedded sandbox): what src/cli/main.ts mounts, without
 * a child process, so the access rules can be checked request by request (and mutated).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDashboard, type Dashboard } from '../../src/dashboard/dashboard.js';
import type { AccessOptions } from '../../src/dashboard/access.js';
import type { LiveFeedOptions } from '../../src/dashboard/live-feed.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

/** A stand-in for the built page: the routes serve whatever index.html and assets/ hold. */
export function fakePageDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-page-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>dashboard</title><script type="module" src="/dashboard/assets/app.js"></script>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log("page")');
  return dir;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json(): any;
}

export interface DashboardHarness {
  server: InProcessServer;
  dashboard: Dashboard;
  base: string;
  port: number;
  /** One request with any headers (Host included, which fetch() cannot set). */
  request(path: string, options?: { method?: string; headers?: Record<string, string> }): Promise<Reply>;
  close(): Promise<void>;
}

export async function startDashboard(
  options: { access?: Partial<AccessOptions>; linkTokens?: string[]; env?: Record<string, string>; toolsets?: string; feed?: LiveFeedOptions; pageDir?: string; campaignControl?: boolean } = {},
): Promise<DashboardHarness> {
  const server = await startInProcess({ env: options.env, toolsets: options.toolsets ?? 'all' });
  const { insights, campaigns, inbox, voice, ivr, audit } = server.app.services;
  const dashboard = await createDashboard({
    access: { loopback: true, allowedHosts: ['127.0.0.1'], ...options.access },
    linkTokens: options.linkTokens,
    sources: { insights, campaigns, inbox, voice, ivr, audit, callsEnabled: true, campaignControl: options.campaignControl ?? true, describePolicy: () => server.app.policy.describe({ calls: true }) },
    events: server.app.events,
    pageDir: options.pageDir ?? fakePageDir(),
    feed: options.feed,
  });
  const http = createServer((req, res) => void dashboard.handle(req, res));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  const request = (path: string, { method = 'GET', headers = {} }: { method?: string; headers?: Record<string, string> } = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) }));
      });
      req.on('error', reject);
      req.end();
    });
  return {
    server,
    dashboard,
    base,
    port,
    request,
    close: async () => {
      await dashboard.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await server.close();
    },
  };
}
