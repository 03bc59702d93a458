/**
 * The sandbox's HTTP plumbing: fault injection first (a fault stands for the network or
 * Twilio's edge misbehaving, so it acts before auth), then Basic auth, body parsing,
 * routing, and Twilio's error body for anything that goes wrong.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AUTH_CHALLENGE, isAuthorized, unauthenticated } from './auth.js';
import { faultError } from './faults.js';
import { type Reply, route, type SandboxContext } from './router.js';
import { errorBody, parseParams, parseQuery, readBody, sendError, sendJson, TwilioError } from './wire.js';

export type { InboundCallFields, InboundCallResult, InboundFields, InboundResult, SandboxContext } from './router.js';

const ADMIN_PREFIX = '/__sandbox/';

function errorReply(error: unknown, method: string, path: string, log: (line: string) => void): Reply {
  if (error instanceof TwilioError) return { status: error.status, body: errorBody(error.status, error.code, error.message) };
  if (error instanceof SyntaxError) return { status: 400, body: errorBody(400, 20001, `Invalid JSON: ${error.message}`) };
  log(`internal error on ${method} ${path}: ${error instanceof Error ? error.stack : String(error)}`);
  return { status: 500, body: errorBody(500, 20500, 'Internal Server Error') };
}

async function answer(ctx: SandboxContext, req: IncomingMessage, method: string, path: string, search: string): Promise<Reply> {
  const raw = method === 'GET' || method === 'DELETE' || method === 'HEAD' ? '' : await readBody(req);
  // Twilio reads only form bodies; a JSON body to a REST route is as good as no body.
  const form = (req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded') ? parseParams(raw) : new Map();
  return route(ctx, { method, path, query: parseQuery(search), form, raw, headers: req.headers });
}

export function createSandboxHttpServer(
  ctx: SandboxContext,
  log: (line: string) => void,
): { server: Server; hanging: Set<ServerResponse> } {
  // Responses held open by a 'hang' fault; close() destroys them so it never waits forever.
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    void (async () => {
      const method = (req.method ?? 'GET').toUpperCase();
      const [path = '/', search = ''] = (req.url ?? '/').split('?');
      const admin = path.startsWith(ADMIN_PREFIX);
      const oneShot = admin ? undefined : ctx.faults.take(method, path);
      // Probabilistic faults and the account rps limit (chaos.ts) draw only when no one-shot fault took the request.
      const chaos = admin || oneShot ? undefined : ctx.chaos.decide(method, path);
      if (chaos && chaos.delayMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, chaos.delayMs).unref());
        if (res.destroyed || req.socket.destroyed) return; // closed (or the client gave up) meanwhile
      }
      const fault = oneShot ?? chaos?.fault;
      if (fault) log(`${oneShot ? 'fault' : `chaos (${chaos!.cause})`} ${fault.kind}${fault.status ? ` ${fault.status}` : ''} on ${method} ${path}`);
      if (fault?.kind === 'reset-before') {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'status') {
        const error = faultError(fault);
        const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
        sendError(res, error, headers);
        return;
      }
      if (!isAuthorized(req, ctx.account.sid, ctx.account.authToken, ctx.apiKey)) {
        sendError(res, unauthenticated(), AUTH_CHALLENGE);
        return;
      }
      let reply: Reply;
      try {
        reply = await answer(ctx, req, method, path, search);
      } catch (error) {
        reply = errorReply(error, method, path, log);
      }
      if (fault?.kind === 'reset-after') {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (reply.body === undefined) res.writeHead(reply.status, reply.headers).end();
      // Recording media: bytes with their own content type, never JSON.
      else if (Buffer.isBuffer(reply.body)) res.writeHead(reply.status, reply.headers).end(reply.body);
      else sendJson(res, reply.status, reply.body, reply.headers);
    })().catch((error: unknown) => {
      // Last resort: a broken socket while answering must not take the sandbox down.
      log(`request failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) res.socket?.destroy();
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  return { server, hanging };
}
