/**
 * Who may see the dashboard, and how a browser proves it.
 *
 * - Beyond loopback: the same bearer token as /mcp (TWILIO_MCP_HTTP_TOKEN), typed into the
 *   page's sign-in form once. On loopback: a one-time link printed on the server's stderr
 *   (`/dashboard#token=…`; a fragment never reaches a server log or a Referer), which
 *   only the user who started the server can read.
 * - Either is exchanged for a session token the page keeps in its own origin's storage and
 *   sends as `Authorization: Bearer`. Not a cookie, on purpose: a browser sends a cookie for
 *   127.0.0.1 to EVERY port of 127.0.0.1, so another local user's server on another port
 *   would receive it; a header is sent only by this page's own code. Without cookies there
 *   is nothing for another web page to ride on (no CSRF), and CORS is never granted, so it
 *   cannot read an answer either.
 * - EventSource cannot send a header: the page first buys a stream ticket (single use,
 *   short-lived, bound to its session) and puts that in the stream's URL.
 * - Every request passes the Host check (DNS rebinding) and, when a browser sends them, an
 *   exact same-origin Origin check (port included: another local port is another origin)
 *   and Sec-Fetch-Site. Failed credentials are counted per client, before the next one is
 *   compared (the /mcp limiter's rule).
 *
 * Tokens are kept only as sha256 digests: a dump of this object reveals none of them.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { localhostAllowedHostnames, validateHostHeader } from '@modelcontextprotocol/server';
import { clientKey, DEFAULT_AUTH_FAILURE_LIMIT, FailureLimiter, type FailureLimitOptions, sameSecret } from '../transports/http-guards.js';
import { refuse } from './headers.js';

export interface DashboardSession {
  /** A public name for the session (audit rows name it); never the token. */
  label: string;
  /** bearer: the server's own HTTP token was presented directly (API clients, curl). */
  via: 'link' | 'bearer';
  createdAt: number;
  lastSeen: number;
}

export interface AccessOptions {
  /** The server listens on loopback: one-time links are offered. */
  loopback: boolean;
  /** TWILIO_MCP_HTTP_TOKEN, when set (required beyond loopback). */
  bearerToken?: string;
  /** Host names accepted beyond loopback (TWILIO_MCP_ALLOWED_HOSTS, else the bind address). */
  allowedHosts: string[];
  failureLimit?: FailureLimitOptions;
  /** A session unused this long is gone. Default 12 h. */
  sessionIdleMs?: number;
  /** Sessions kept at most (the least recently used goes first). Default 100. */
  maxSessions?: number;
  now?: () => number;
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');
const newToken = () => randomBytes(32).toString('base64url');
const TICKET_TTL_MS = 60_000;
const MAX_TICKETS = 1000;
const MAX_LINKS = 20;

export class DashboardAccess {
  private readonly links = new Map<string, { expiresAt: number | null }>();
  private readonly sessions = new Map<string, DashboardSession>();
  private readonly tickets = new Map<string, { session: DashboardSession; expiresAt: number }>();
  private readonly bearerSession: DashboardSession;
  private readonly now: () => number;
  readonly failures: FailureLimiter;

  constructor(readonly options: AccessOptions) {
    this.now = options.now ?? Date.now;
    this.failures = new FailureLimiter(options.failureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT, this.now);
    this.bearerSession = { label: 'bearer-token', via: 'bearer', createdAt: this.now(), lastSeen: this.now() };
  }

  /** Accepts `token` once as a sign-in link (`ttlMs` undefined: until used). */
  addLinkToken(token: string, ttlMs?: number): void {
    if (!this.options.loopback) return;
    if (this.links.size >= MAX_LINKS) this.links.delete(this.links.keys().next().value!);
    this.links.set(digest(token), { expiresAt: ttlMs === undefined ? null : this.now() + ttlMs });
  }

  /** A fresh one-time link token (loopback only), valid for `ttlMs`. */
  mintLinkToken(ttlMs: number): string | undefined {
    if (!this.options.loopback) return undefined;
    const token = newToken();
    this.addLinkToken(token, ttlMs);
    return token;
  }

  /**
   * Exchanges a one-time link token (spent now) or the bearer token for a new session;
   * undefined when `presented` is neither.
   */
  signIn(presented: string): { token: string; session: DashboardSession } | undefined {
    const key = digest(presented);
    const link = this.links.get(key);
    const viaLink = link !== undefined && (link.expiresAt === null || link.expiresAt > this.now());
    if (link) this.links.delete(key);
    const viaBearer = !viaLink && this.options.bearerToken !== undefined && sameSecret(presented, this.options.bearerToken);
    if (!viaLink && !viaBearer) return undefined;
    this.sweep();
    if (this.sessions.size >= (this.options.maxSessions ?? 100)) {
      const oldest = [...this.sessions].sort(([, a], [, b]) => a.lastSeen - b.lastSeen)[0];
      if (oldest) this.sessions.delete(oldest[0]);
    }
    const token = newToken();
    const session: DashboardSession = { label: `dashboard-${randomBytes(4).toString('hex')}`, via: viaLink ? 'link' : 'bearer', createdAt: this.now(), lastSeen: this.now() };
    this.sessions.set(digest(token), session);
    return { token, session };
  }

  /** The session a presented token belongs to: a live session token, or the bearer token itself. */
  authenticate(presented: string): DashboardSession | undefined {
    const session = this.sessions.get(digest(presented));
    if (session) {
      if (this.now() - session.lastSeen > this.idleMs()) {
        this.sessions.delete(digest(presented));
        return undefined;
      }
      session.lastSeen = this.now();
      return session;
    }
    if (this.options.bearerToken !== undefined && sameSecret(presented, this.options.bearerToken)) return this.bearerSession;
    return undefined;
  }

  /** Ends the session of `presented` (a no-op for the bearer token, which is the server's). */
  signOut(presented: string): boolean {
    return this.sessions.delete(digest(presented));
  }

  isLive(session: DashboardSession): boolean {
    return session === this.bearerSession || [...this.sessions.values()].includes(session);
  }

  /** A single-use ticket for one event stream of `session`, good for a minute. */
  mintTicket(session: DashboardSession): string {
    const now = this.now();
    for (const [key, t] of this.tickets) if (t.expiresAt <= now) this.tickets.delete(key);
    if (this.tickets.size >= MAX_TICKETS) this.tickets.delete(this.tickets.keys().next().value!);
    const ticket = newToken();
    this.tickets.set(digest(ticket), { session, expiresAt: now + TICKET_TTL_MS });
    return ticket;
  }

  redeemTicket(ticket: string): DashboardSession | undefined {
    const key = digest(ticket);
    const found = this.tickets.get(key);
    this.tickets.delete(key);
    if (!found || found.expiresAt <= this.now() || !this.isLive(found.session)) return undefined;
    found.session.lastSeen = this.now();
    return found.session;
  }

  private idleMs(): number {
    return this.options.sessionIdleMs ?? 12 * 60 * 60 * 1000;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, s] of this.sessions) if (now - s.lastSeen > this.idleMs()) this.sessions.delete(key);
    for (const [key, l] of this.links) if (l.expiresAt !== null && l.expiresAt <= now) this.links.delete(key);
  }

  // ---- request checks ----------------------------------------------------------------

  /**
   * Host, Origin and Sec-Fetch-Site. `navigation`: the page itself, which a user may reach
   * from a link elsewhere (it holds no data); everything else must come from this origin.
   * Answers 403 and returns false when the request is refused.
   */
  checkRequest(req: IncomingMessage, res: ServerResponse, navigation: boolean): boolean {
    const allowed = this.options.loopback ? localhostAllowedHostnames() : this.options.allowedHosts;
    const host = validateHostHeader(req.headers.host, allowed);
    if (!host.ok) {
      refuse(res, 403, `${host.message}: the dashboard answers only to ${allowed.join(', ')}.`, 'Open it at the address the server printed (TWILIO_MCP_ALLOWED_HOSTS names more host names).');
      return false;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, req.headers.host!)) {
      refuse(res, 403, `Origin ${origin} is not this dashboard's origin.`, 'The dashboard answers only its own page; other sites cannot use it.');
      return false;
    }
    const site = req.headers['sec-fetch-site'];
    if (typeof site === 'string' && site !== 'same-origin' && !(navigation && (site === 'none' || site === 'cross-site' || site === 'same-site'))) {
      refuse(res, 403, `A ${site} request cannot use the dashboard.`, 'Open the dashboard itself; other pages cannot use it.');
      return false;
    }
    return true;
  }

  /**
   * The session of a request's `Authorization: Bearer …`, or a 401 (429 past the failure
   * limit, before the token is even compared).
   */
  requireSession(req: IncomingMessage, res: ServerResponse): DashboardSession | undefined {
    if (!this.failures.admit(req, res, 'failed dashboard sign-ins')) return undefined;
    const presented = bearerOf(req);
    const session = presented === undefined ? undefined : this.authenticate(presented);
    if (session) return session;
    if (presented !== undefined) this.failures.recordFailure(clientKey(req.socket.remoteAddress));
    refuse(
      res,
      401,
      presented === undefined ? 'Not signed in to the dashboard.' : 'That dashboard session is not valid (it expired, or the server restarted).',
      this.signInAdvice(),
      { 'www-authenticate': `Bearer realm="mcp-server-twilio dashboard"${presented === undefined ? '' : ', error="invalid_token"'}` },
    );
    return undefined;
  }

  signInAdvice(): string {
    if (this.options.loopback) {
      return this.options.bearerToken
        ? 'Open the one-time link the server printed on stderr (or ask for a new one), or sign in with TWILIO_MCP_HTTP_TOKEN.'
        : 'Open the one-time link the server printed on stderr, or ask the page for a new one (it is printed there too).';
    }
    return 'Sign in with the server\'s HTTP token (TWILIO_MCP_HTTP_TOKEN).';
  }
}

export function bearerOf(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** Exact origin match (scheme-agnostic for a TLS proxy in front, but host AND port). */
function sameOrigin(origin: string, host: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host.toLowerCase() === new URL(`http://${host}`).host.toLowerCase();
  } catch {
    return false;
  }
}
