/**
 * The dashboard on the HTTP transport, loaded on its first request: at start-up only this
 * file loads (a path test and a random token), so cold start pays nothing for the routes,
 * the panels or the page.
 *
 * On loopback a one-time sign-in link is made at start and printed on stderr, which only
 * the user who started the server can read; beyond loopback the page asks for the bearer
 * token of /mcp.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { lazy } from '../util/lazy.js';
import { log } from '../util/log.js';
import type { Dashboard, DashboardOptions } from './dashboard.js';

export interface DashboardMount {
  /** Serves the request when it is under /dashboard (true), else leaves it (false). */
  route(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Says on stderr where the dashboard is, with the one-time link on loopback. */
  announce(baseUrl: string): void;
  close(): Promise<void>;
}

const isDashboardPath = (url: string | undefined) => {
  const path = (url ?? '/').split(/[?#]/, 1)[0]!;
  return path === '/dashboard' || path.startsWith('/dashboard/');
};

/** `options` is asked for on the first request (the services it names exist by then). */
export function mountDashboard(loopback: boolean, options: () => Omit<DashboardOptions, 'linkTokens'>): DashboardMount {
  const firstLink = loopback ? randomBytes(32).toString('base64url') : undefined;
  let started = false;
  const dashboard = lazy(async (): Promise<Dashboard> => {
    started = true;
    const { createDashboard } = await import('./dashboard.js');
    return createDashboard({ ...options(), linkTokens: firstLink ? [firstLink] : [] });
  });
  return {
    route: async (req, res) => {
      if (!isDashboardPath(req.url)) return false;
      await (await dashboard()).handle(req, res);
      return true;
    },
    announce: (baseUrl) => {
      if (firstLink) log.info(`Dashboard: ${baseUrl}/dashboard#token=${firstLink} (this link signs in once; the page can ask for another)`);
      else log.info(`Dashboard: ${baseUrl}/dashboard (sign in with TWILIO_MCP_HTTP_TOKEN)`);
    },
    close: async () => {
      if (started) await (await dashboard()).close();
    },
  };
}
