/**
 * A tiny web app for call tests, on 127.0.0.1:0: serves TwiML per path, receives status
 * callbacks, and records every request with its parameters (form body or query) and
 * whether its X-Twilio-Signature is valid by the official SDK's validateRequest.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';

export interface ReceivedRequest {
  method: string;
  path: string;
  url: string;
  params: Record<string, string>;
  /** Every value of every key, in order (repeated keys stay apart). */
  multi: Array<[string, string]>;
  /** The X-Twilio-Signature header as received. */
  signature: string;
  signatureValid: boolean;
}

/** What a path answers: a TwiML document (200, text/xml), or a status with an optional body. */
export type Reply = string | { status: number; body?: string; contentType?: string };

export type Route = (request: ReceivedRequest) => Reply;

export interface Receiver {
  base: string;
  requests: ReceivedRequest[];
  /** A fixed reply, or a route computing one per request. */
  on(path: string, route: Route | Reply): void;
  to(path: string): string;
  /** Requests to `path`, in arrival order. */
  at(path: string): ReceivedRequest[];
  /** Resolves with the first `count` requests to `path`, within a bounded time. */
  waitFor(path: string, count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

async function read(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startReceiver(authToken: string): Promise<Receiver> {
  const routes = new Map<string, Route>();
  const requests: ReceivedRequest[] = [];
  const waiters = new Set<() => void>();
  let base = '';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await read(req);
      const full = `${base}${req.url ?? '/'}`;
      const parsed = new URL(full);
      const method = (req.method ?? 'GET').toUpperCase();
      const multi: Array<[string, string]> = method === 'GET' ? [...parsed.searchParams] : [...new URLSearchParams(body)];
      const params = Object.fromEntries(multi);
      const signature = String(req.headers['x-twilio-signature'] ?? '');
      const signatureValid = method === 'GET' ? twilio.validateRequest(authToken, signature, full, {}) : twilio.validateRequest(authToken, signature, full, params);
      const request: ReceivedRequest = { method, path: parsed.pathname, url: full, params, multi, signature, signatureValid };
      requests.push(request);
      for (const wake of waiters) wake();
      const route = routes.get(parsed.pathname);
      const answer = route ? route(request) : '<Response/>';
      const reply = typeof answer === 'string' ? { status: 200, body: answer } : answer;
      res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/xml' }).end(reply.body ?? '');
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const at = (path: string) => requests.filter((r) => r.path === path);
  return {
    base,
    requests,
    on: (path, route) => routes.set(path, typeof route === 'function' ? route : () => route),
    to: (path) => `${base}${path}`,
    at,
    waitFor: (path, count, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (at(path).length < count) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(at(path).slice(0, count));
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${count} request(s) to ${path} not received within ${timeoutMs} ms (got ${at(path).length})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
