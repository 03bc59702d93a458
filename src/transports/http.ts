/**
 * Streamable HTTP at /mcp on one node:http server (loopback by default).
 *
 * Modern (2026-07-28) requests go to the SDK's per-request handler. 2025-era clients get
 * real sessions (Mcp-Session-Id), because sampling, elicitation and resource-update
 * notifications need a channel back to the client; `--stateless` serves them per request
 * instead, so several instances can sit behind a load balancer.
 * Other routes (webhooks) can be mounted on the same server through `extraRoutes`.
 *
 * Order of the guards on /mcp: Host/Origin → failed-token limit (before the token is looked
 * at) → bearer token → request rate limit → MCP. 2025-era sessions are capped globally and
 * per client address, and 2026-07-28 listen streams per client address, so one token
 * holder cannot push everybody else's sessions out or take every subscription slot.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { hostHeaderValidation, localhostHostValidation, localhostOriginValidation, originValidation, toNodeHandler } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  InMemoryServerEventBus,
  isInitializeRequest,
  isLegacyRequest,
  type McpServer,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { forwardResourceUpdates, type SubscriptionSource } from '../server/resource-subscriptions.js';
import { log } from '../util/log.js';
import { checkBearer, clientKey, DEFAULT_AUTH_FAILURE_LIMIT, FailureLimiter, type FailureLimitOptions, RateLimiter, type RateLimitOptions } from './http-guards.js';

export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export interface HttpOptions {
  host: string;
  port: number;
  stateless: boolean;
  /** Required bearer token for /mcp; undefined = none (loopback only). */
  bearerToken?: string;
  /** Host names accepted in the Host header when not on loopback (DNS-rebinding defence). */
  allowedHosts?: string[];
  /** Per-client request limit; undefined = none. */
  rateLimit?: RateLimitOptions;
  /** Per-client limit on wrong bearer tokens (checked before the token); default 10 a minute. */
  authFailureLimit?: FailureLimitOptions;
  /** Caps on long-lived per-client state (sessions, listen streams); defaults DEFAULT_SESSION_LIMITS. */
  sessionLimits?: Partial<SessionLimits>;
  /**
   * Resource changes to deliver to 2026-07-28 clients' `subscriptions/listen` streams. Their
   * per-request server instances cannot reach those streams, so the changes are published
   * once, here, on the event bus given to createMcpHandler.
   */
  resourceUpdates?: SubscriptionSource;
  /** Extra routes (e.g. webhooks); return true when the request was handled. */
  extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /** WebSocket upgrades (the ConversationRelay socket); false: not handled, the connection is closed. */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;
}

export interface HttpHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

/**
 * Bounds on 2025-era sessions, so clients that vanish without DELETE cannot grow memory
 * forever: a session unused for SESSION_IDLE_MS is closed. Generous on purpose: an idle
 * client may hold a notification stream open for hours.
 *
 * Counted per client ADDRESS (an IPv6 /64), not per token: the bearer token is one shared
 * static secret, so every holder has the same "identity" and a per-token cap would be the
 * global cap again. A client at `perClient` is refused its next session (and told to close
 * one); its sessions never push out anybody else's. At `max` in total, room is made by
 * closing the least recently used session of the client holding the most, so honest
 * clients with a session or two are the last to lose one. (On loopback, or behind a local
 * reverse proxy, every client has the same address: the per-client cap is then simply a
 * lower global one, which is why it is generous.)
 */
const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;

export interface SessionLimits {
  /** 2025-era sessions in total. */
  max: number;
  /** 2025-era sessions per client address. */
  perClient: number;
  /**
   * Open 2026-07-28 `subscriptions/listen` streams per client address. The SDK caps them per
   * handler (1024) and then refuses everybody: without a per-client share one token holder
   * could take them all.
   */
  listensPerClient: number;
}
export const DEFAULT_SESSION_LIMITS: SessionLimits = { max: 1000, perClient: 100, listensPerClient: 32 };

const isListenRequest = (body: unknown): body is { id: string | number; method: 'subscriptions/listen' } =>
  typeof body === 'object' && body !== null && (body as { method?: unknown }).method === 'subscriptions/listen';

/** Counts each client's open listen streams; a stream is open until its response closes. */
function listenStreamLimiter(perClient: number) {
  const open = new Map<string, number>();
  /** A refusal when `client` is at its share; else undefined, and the stream is counted until `res` closes. */
  return (client: string, id: string | number, res: ServerResponse): Response | undefined => {
    const count = open.get(client) ?? 0;
    if (count >= perClient) {
      return new Response(
        JSON.stringify({
          jsonrpc: '2.0',
          id,
          error: { code: -32000, message: `Too many open subscriptions/listen streams from this address (limit ${perClient}): close one (subscription.close()) before opening another.` },
        }),
        { status: 429, headers: { 'content-type': 'application/json' } },
      );
    }
    open.set(client, count + 1);
    res.once('close', () => {
      const left = (open.get(client) ?? 1) - 1;
      if (left > 0) open.set(client, left);
      else open.delete(client);
    });
    return undefined;
  };
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  lastSeen: number;
  client: string;
}

function sessionfulLegacyHandler(factory: () => McpServer, limits: SessionLimits) {
  const sessions = new Map<string, Session>();
  const sessionsOf = (client: string) => [...sessions].filter(([, s]) => s.client === client);
  /** The least recently used session of the client holding the most sessions. */
  const evictionCandidate = (): string | undefined => {
    const counts = new Map<string, number>();
    for (const s of sessions.values()) counts.set(s.client, (counts.get(s.client) ?? 0) + 1);
    const [heaviest] = [...counts].sort(([, a], [, b]) => b - a)[0] ?? [];
    return heaviest === undefined ? undefined : sessionsOf(heaviest).sort(([, a], [, b]) => a.lastSeen - b.lastSeen)[0]?.[0];
  };
  const closeSession = (id: string) => {
    const session = sessions.get(id);
    sessions.delete(id);
    void session?.transport.close().catch(() => {});
  };
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [id, session] of sessions) if (now - session.lastSeen > SESSION_IDLE_MS) closeSession(id);
  }, 60_000);
  sweeper.unref();

  const handle = async (request: Request, parsedBody: unknown, client: string): Promise<Response> => {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const session = sessions.get(sessionId);
      if (!session) return jsonRpcError(404, -32001, 'Session not found: it expired or the server restarted. Initialize a new session.');
      session.lastSeen = Date.now();
      return session.transport.handleRequest(request, { parsedBody });
    }
    if (request.method === 'POST' && isInitializeRequest(parsedBody)) {
      if (sessionsOf(client).length >= limits.perClient) {
        return jsonRpcError(
          429,
          -32000,
          `Too many open sessions from this address (limit ${limits.perClient}): end unused ones with DELETE /mcp (client.close()), or reuse a session, then initialize again.`,
        );
      }
      if (sessions.size >= limits.max) {
        const evicted = evictionCandidate();
        if (evicted) closeSession(evicted);
      }
      const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, { transport, lastSeen: Date.now(), client }),
        onsessionclosed: (id) => void sessions.delete(id),
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await factory().connect(transport);
      return transport.handleRequest(request, { parsedBody });
    }
    return jsonRpcError(400, -32000, 'Bad Request: no Mcp-Session-Id header; send initialize first.');
  };
  const closeAll = async () => {
    clearInterval(sweeper);
    await Promise.allSettled([...sessions.values()].map((s) => s.transport.close()));
    sessions.clear();
  };
  return { handle, closeAll };
}

export async function startHttp(factory: () => McpServer, options: HttpOptions): Promise<HttpHandle> {
  const loopback = LOOPBACK.has(options.host);
  if (!loopback && !options.bearerToken) {
    throw new Error(`Refusing to listen on ${options.host} without a bearer token: set TWILIO_MCP_HTTP_TOKEN, or bind 127.0.0.1.`);
  }
  const hosts = options.allowedHosts?.length ? options.allowedHosts : [options.host];
  const validateHost = loopback ? localhostHostValidation() : hostHeaderValidation(hosts);
  const validateOrigin = loopback ? localhostOriginValidation() : originValidation(hosts);
  const limiter = options.rateLimit ? new RateLimiter(options.rateLimit) : undefined;
  const authFailures = new FailureLimiter(options.authFailureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT);

  // The bus createMcpHandler serves 2026-07-28 `subscriptions/listen` streams from.
  const bus = new InMemoryServerEventBus((e) => log.debug(`mcp event bus: ${e.message}`));
  const stopForwarding = options.resourceUpdates ? forwardResourceUpdates(options.resourceUpdates, bus) : () => {};
  const handlerOptions = { bus, maxRequestBodySize: MAX_REQUEST_BODY_BYTES, onerror: (e: Error) => log.debug(`mcp: ${e.message}`) };
  const nodeOptions = { maxRequestBodySize: MAX_REQUEST_BODY_BYTES };

  const limits = { ...DEFAULT_SESSION_LIMITS, ...options.sessionLimits };
  const admitListen = listenStreamLimiter(limits.listensPerClient);
  // --stateless: the handler serves 2025-era requests per request too; else they get sessions.
  const modern = createMcpHandler(factory, options.stateless ? handlerOptions : { ...handlerOptions, legacy: 'reject' });
  const legacy = options.stateless ? undefined : sessionfulLegacyHandler(factory, limits);
  const closeSessions = async () => {
    await legacy?.closeAll();
    await modern.close();
  };
  /** Serves one /mcp request; `client` is the caller's clientKey (sessions and listen streams are counted by it). */
  const route = async (request: Request, client: string, res: ServerResponse) => {
    let parsedBody: unknown;
    if (request.method === 'POST') {
      parsedBody = await request
        .clone()
        .json()
        .catch(() => undefined);
    }
    if (isListenRequest(parsedBody)) {
      const refused = admitListen(client, parsedBody.id, res);
      if (refused) return refused;
    }
    if (legacy && (await isLegacyRequest(request, parsedBody))) return legacy.handle(request, parsedBody, client);
    return modern.fetch(request);
  };
  // An adapter per request (a cheap closure) carries the caller's address into the route.
  const serveMcp = (req: IncomingMessage, res: ServerResponse, client: string) =>
    toNodeHandler({ fetch: (request: Request) => route(request, client, res) }, nodeOptions)(req, res);

  const server: Server = createHttpServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
      if (options.extraRoutes && (await options.extraRoutes(req, res))) return;
      if (path === '/mcp') {
        if (!validateHost(req, res) || !validateOrigin(req, res)) return;
        if (options.bearerToken) {
          // Refused before the token is compared: past the limit, guessing gets no answer at all.
          if (!authFailures.admit(req, res, 'failed bearer-token attempts')) return;
          if (!checkBearer(req, res, options.bearerToken)) {
            authFailures.recordFailureOf(req);
            return;
          }
        }
        if (limiter && !limiter.check(req, res)) return;
        await serveMcp(req, res, clientKey(req.socket.remoteAddress));
        return;
      }
      if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found: the MCP endpoint is /mcp"}');
    })().catch((error: unknown) => {
      log.error(`http: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  server.on('upgrade', (req, socket, head) => {
    if (!options.upgrade?.(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}/mcp`,
    port,
    close: async () => {
      stopForwarding();
      await closeSessions();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
