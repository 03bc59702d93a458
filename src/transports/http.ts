/**
 * Streamable HTTP at /mcp on one node:http server (loopback by default).
 *
 * Modern (2026-07-28) requests go to the SDK's per-request handler. 2025-era clients get
 * real sessions (Mcp-Session-Id), because sampling, elicitation and resource-update
 * notifications need a channel back to the client; `--stateless` serves them per request
 * instead, so several instances can sit behind a load balancer.
 * Other routes (webhooks) can be mounted on the same server through `extraRoutes`.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostHeaderValidation, localhostHostValidation, localhostOriginValidation, originValidation, toNodeHandler } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  isInitializeRequest,
  isLegacyRequest,
  type McpServer,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { log } from '../util/log.js';
import { checkBearer, RateLimiter, type RateLimitOptions } from './http-guards.js';

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
  /** Extra routes (e.g. webhooks); return true when the request was handled. */
  extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
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
 * forever: a session unused for SESSION_IDLE_MS is closed, and past MAX_SESSIONS the least
 * recently used one makes room. Generous on purpose: an idle client may hold a
 * notification stream open for hours.
 */
const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 1000;

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  lastSeen: number;
}

function sessionfulLegacyHandler(factory: () => McpServer) {
  const sessions = new Map<string, Session>();
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

  const handle = async (request: Request, parsedBody: unknown): Promise<Response> => {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const session = sessions.get(sessionId);
      if (!session) return jsonRpcError(404, -32001, 'Session not found: it expired or the server restarted. Initialize a new session.');
      session.lastSeen = Date.now();
      return session.transport.handleRequest(request, { parsedBody });
    }
    if (request.method === 'POST' && isInitializeRequest(parsedBody)) {
      if (sessions.size >= MAX_SESSIONS) {
        const [oldest] = [...sessions].sort(([, a], [, b]) => a.lastSeen - b.lastSeen)[0] ?? [];
        if (oldest) closeSession(oldest);
      }
      const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, { transport, lastSeen: Date.now() }),
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

  let mcpNodeHandler: ReturnType<typeof toNodeHandler>;
  let closeSessions = async () => {};
  if (options.stateless) {
    const handler = createMcpHandler(factory, { maxRequestBodySize: MAX_REQUEST_BODY_BYTES, onerror: (e) => log.debug(`mcp: ${e.message}`) });
    mcpNodeHandler = toNodeHandler(handler, { maxRequestBodySize: MAX_REQUEST_BODY_BYTES });
    closeSessions = () => handler.close();
  } else {
    const modern = createMcpHandler(factory, { legacy: 'reject', maxRequestBodySize: MAX_REQUEST_BODY_BYTES, onerror: (e) => log.debug(`mcp: ${e.message}`) });
    const legacy = sessionfulLegacyHandler(factory);
    closeSessions = async () => {
      await legacy.closeAll();
      await modern.close();
    };
    mcpNodeHandler = toNodeHandler(
      {
        fetch: async (request: Request) => {
          let parsedBody: unknown;
          if (request.method === 'POST') {
            parsedBody = await request
              .clone()
              .json()
              .catch(() => undefined);
          }
          if (await isLegacyRequest(request, parsedBody)) return legacy.handle(request, parsedBody);
          return modern.fetch(request);
        },
      },
      { maxRequestBodySize: MAX_REQUEST_BODY_BYTES },
    );
  }

  const server: Server = createHttpServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
      if (options.extraRoutes && (await options.extraRoutes(req, res))) return;
      if (path === '/mcp') {
        if (!validateHost(req, res) || !validateOrigin(req, res)) return;
        if (options.bearerToken && !checkBearer(req, res, options.bearerToken)) return;
        if (limiter && !limiter.check(req, res)) return;
        await mcpNodeHandler(req, res);
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
      await closeSessions();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
