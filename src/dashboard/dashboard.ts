/**
 * The dashboard's routes, under /dashboard on the HTTP transport's port (loaded on the
 * first request to it; see mount.ts):
 *
 *   GET    /dashboard                        the page (static; it holds no data)
 *   GET    /dashboard/assets/NAME            its scripts and styles
 *   GET    /dashboard/api/access             how to sign in here (public, no secrets)
 *   POST   /dashboard/api/session            a one-time link token or the bearer token → a session token
 *   DELETE /dashboard/api/session            sign out
 *   POST   /dashboard/api/link               print a new one-time link on stderr (loopback only)
 *   GET    /dashboard/api/panels?period=…    every panel's JSON for a window
 *   POST   /dashboard/api/stream-ticket      a single-use ticket for the event stream
 *   GET    /dashboard/api/events?ticket=…    the live panels (server-sent events)
 *   POST   /dashboard/api/campaigns/ID/ACTION  pause | resume | cancel, audited with the dashboard as client
 *
 * Data routes need `Authorization: Bearer <session token>` (access.ts says why not a
 * cookie). No route ever answers with CORS headers; OPTIONS is refused.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ToolFailure } from '../errors/tool-failure.js';
import { auditErrorText } from '../services/audit.js';
import type { EventHub } from '../services/events.js';
import { log } from '../util/log.js';
import { DashboardAccess, bearerOf, type AccessOptions, type DashboardSession } from './access.js';
import { PageAssets } from './assets.js';
import { refuse, sendBody, sendJson } from './headers.js';
import { LiveFeed, panelsChangedBy, type LiveFeedOptions } from './live-feed.js';
import { PanelBuilder, PANELS, windowFromQuery, type DashboardWindow, type PanelName, type PanelSources } from './panels.js';

export const DASHBOARD_PATH = '/dashboard';
/** The audit log's client name for what the dashboard does. */
export const DASHBOARD_CLIENT = 'dashboard';

export interface DashboardOptions {
  access: AccessOptions;
  /** One-time link tokens made at start (printed on stderr by the mount). */
  linkTokens?: string[];
  sources: PanelSources;
  events: EventHub;
  /** Where the built page is (default dist/dashboard/page next to this module). */
  pageDir?: string;
  feed?: LiveFeedOptions;
  /** How long a link printed on request stays valid. Default 10 minutes. */
  linkTtlMs?: number;
  /** Shown on the page: sandbox (nothing reaches a phone) or live. */
  mode?: 'live' | 'sandbox';
}

export interface Dashboard {
  /** Serves one request under /dashboard. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  readonly access: DashboardAccess;
  close(): Promise<void>;
}

const CAMPAIGN_ROUTE = /^\/dashboard\/api\/campaigns\/(CP[0-9a-f]{32})\/(pause|resume|cancel)$/;
/** A new link at most this often: anyone who can reach the port could ask, only stderr's reader can use it. */
const LINK_INTERVAL_MS = 10_000;

export async function createDashboard(options: DashboardOptions): Promise<Dashboard> {
  const access = new DashboardAccess(options.access);
  for (const token of options.linkTokens ?? []) access.addLinkToken(token);
  const assets = new PageAssets(options.pageDir);
  const sources: PanelSources = { ...options.sources, finishedCalls: new Map() };
  const build = (window: DashboardWindow, panels: readonly PanelName[]) => new PanelBuilder(sources, window).build(panels);
  const feed = new LiveFeed(build, (session) => access.isLive(session as DashboardSession), options.feed);
  const stopEvents = options.events.subscribe((event) => feed.changed(panelsChangedBy(event)));
  // The engine starts with the store; a failure here leaves the campaigns panel to its next event.
  const stopCampaigns = await options.sources.campaigns.watch(() => feed.changed(panelsChangedBy({ kind: 'campaign_progress' }))).catch((error: unknown) => {
    log.warn(`dashboard: campaign progress is not followed live (${error instanceof Error ? error.message : String(error)})`);
    return () => {};
  });
  let lastLinkAt = 0;

  const windowOf = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams): DashboardWindow | undefined => {
    try {
      return windowFromQuery(query);
    } catch (error) {
      refuse(res, 400, error instanceof Error ? error.message : String(error), 'Give period=today|yesterday|this_month|last_month, or start and end as YYYY-MM-DD.');
      return undefined;
    }
  };

  async function control(res: ServerResponse, session: DashboardSession, campaignId: string, action: 'pause' | 'resume' | 'cancel') {
    if (!options.sources.campaignControl) {
      return refuse(res, 403, 'Campaign controls are off on this server (--read-only, or the campaigns toolset is not enabled).', 'Start the server without --read-only and with the campaigns toolset to pause, resume or cancel from here.');
    }
    const args = { campaign_id: campaignId, action };
    try {
      const result = await options.sources.campaigns.control(args);
      await record(args, null, session);
      sendJson(res, 200, result);
    } catch (error) {
      await record(args, auditErrorText(error), session);
      if (error instanceof ToolFailure) sendJson(res, 404, error.toJSON());
      else throw error;
    }
  }

  /** The same audit row control_campaign writes, naming the dashboard (and which session) as the client. */
  async function record(args: Record<string, unknown>, error: string | null, session: DashboardSession) {
    await options.sources.audit
      .record({ tool: 'control_campaign', args, resultSid: null, error, client: DASHBOARD_CLIENT, sessionId: session.label })
      .catch((e: unknown) => log.error(`audit log write failed: ${e instanceof Error ? e.message : String(e)}`));
    options.events.publish({ kind: 'activity', tool: 'control_campaign', failed: error !== null });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';

    if (method === 'OPTIONS') {
      // No preflight is ever granted: the dashboard is same-origin only.
      refuse(res, 405, 'The dashboard does not answer cross-origin requests.', 'Use the dashboard page itself.', { allow: 'GET, POST, DELETE' });
      return;
    }

    if (path === DASHBOARD_PATH || path === `${DASHBOARD_PATH}/` || path === `${DASHBOARD_PATH}/index.html`) {
      if (!read) return refuse(res, 405, `${method} is not allowed here.`, 'GET the page.', { allow: 'GET' });
      if (!access.checkRequest(req, res, true)) return;
      const page = await assets.page();
      if (!page) return refuse(res, 503, 'The dashboard page was not built.', 'Run `npm run build` (it runs scripts/build-dashboard.mjs), then reload.');
      return sendBody(res, 200, page.body, page.type, 'no-store');
    }
    if (path.startsWith(`${DASHBOARD_PATH}/assets/`)) {
      if (!read) return refuse(res, 405, `${method} is not allowed here.`, 'GET the file.', { allow: 'GET' });
      if (!access.checkRequest(req, res, false)) return;
      const asset = await assets.asset(path.slice(`${DASHBOARD_PATH}/assets/`.length));
      if (!asset) return refuse(res, 404, 'No such dashboard file.', 'Reload the dashboard page.');
      return sendBody(res, 200, asset.body, asset.type, 'immutable');
    }
    if (!path.startsWith(`${DASHBOARD_PATH}/api/`)) return refuse(res, 404, 'Not a dashboard route.', `Open ${DASHBOARD_PATH}.`);
    if (!access.checkRequest(req, res, false)) return;
    const route = path.slice(`${DASHBOARD_PATH}/api`.length);

    if (route === '/access' && read) {
      return sendJson(res, 200, { loopback: access.options.loopback, token_sign_in: access.options.bearerToken !== undefined, sign_in: access.signInAdvice(), ...(options.mode && { mode: options.mode }) });
    }
    if (route === '/session' && method === 'POST') {
      if (!access.failures.admit(req, res, 'failed dashboard sign-ins')) return;
      const presented = bearerOf(req);
      const signed = presented === undefined ? undefined : access.signIn(presented);
      if (!signed) {
        if (presented !== undefined) access.failures.recordFailureOf(req);
        return refuse(res, 401, presented === undefined ? 'No sign-in token was sent.' : 'That link was used already, or the token is wrong.', access.signInAdvice());
      }
      return sendJson(res, 200, { session_token: signed.token, session: signed.session.label, via: signed.session.via });
    }
    if (route === '/link' && method === 'POST') {
      if (!access.options.loopback) return refuse(res, 404, 'One-time links exist only on loopback.', access.signInAdvice());
      const now = Date.now();
      if (now - lastLinkAt < LINK_INTERVAL_MS) {
        return refuse(res, 429, 'A link was printed moments ago.', 'Look at the server\'s stderr; ask again in a few seconds.', { 'retry-after': String(Math.ceil((LINK_INTERVAL_MS - (now - lastLinkAt)) / 1000)) });
      }
      lastLinkAt = now;
      const token = access.mintLinkToken(options.linkTtlMs ?? 600_000)!;
      // Host passed the loopback check: this is the address the user's browser uses.
      log.info(`Dashboard sign-in link (works once, for 10 minutes): http://${req.headers.host}${DASHBOARD_PATH}#token=${token}`);
      return sendJson(res, 202, { printed: true, where: "the server's stderr" });
    }
    if (route === '/events' && read) {
      // EventSource cannot send a header: the ticket bought with the session stands for it.
      const ticket = url.searchParams.get('ticket');
      const session = ticket ? access.redeemTicket(ticket) : undefined;
      if (!session) return refuse(res, 401, 'No valid stream ticket (they work once, for a minute).', 'POST /dashboard/api/stream-ticket with the session, then open the stream at once.');
      url.searchParams.delete('ticket');
      const window = windowOf(req, res, url.searchParams);
      if (!window) return;
      const full = feed.admit(session);
      if (full) return refuse(res, 429, full, 'Close other dashboard tabs.');
      feed.open(res, window, session);
      return;
    }

    const session = access.requireSession(req, res);
    if (!session) return;
    if (route === '/session' && method === 'DELETE') {
      access.signOut(bearerOf(req)!);
      feed.dropDeadSessions();
      return sendJson(res, 200, { signed_out: true });
    }
    if (route === '/panels' && read) {
      const window = windowOf(req, res, url.searchParams);
      if (!window) return;
      const asked = url.searchParams.get('panels')?.split(',').filter((p): p is PanelName => (PANELS as readonly string[]).includes(p));
      return sendJson(res, 200, await build(window, asked && asked.length > 0 ? asked : PANELS));
    }
    if (route === '/stream-ticket' && method === 'POST') return sendJson(res, 200, { ticket: access.mintTicket(session) });
    const campaign = CAMPAIGN_ROUTE.exec(path);
    if (campaign && method === 'POST') return control(res, session, campaign[1]!, campaign[2] as 'pause' | 'resume' | 'cancel');
    refuse(res, 404, `No dashboard API route ${method} ${route}.`, 'See src/dashboard/dashboard.ts for the routes.');
  }

  return {
    access,
    handle: async (req, res) => {
      try {
        await handle(req, res);
      } catch (error) {
        log.error(`dashboard: ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) refuse(res, 500, 'The dashboard failed to answer.', 'See the server log; reload the page.');
        else res.end();
      }
    },
    close: async () => {
      stopEvents();
      stopCampaigns();
      feed.close();
    },
  };
}
