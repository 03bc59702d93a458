/**
 * Several instances of the BUILT server on one PostgreSQL database, behind a round-robin
 * load balancer of the test's own (node:http, 127.0.0.1:0), as a business would run them:
 * Twilio's callbacks go to the balancer's URL (TWILIO_WEBHOOK_URL) and land on any instance;
 * each test client talks to one instance directly (a 2025-era session is per instance).
 */
import { request, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { startHttpServer, type HttpServerProcess } from './server-process.js';

export interface LoadBalancer {
  url: string;
  /** Requests forwarded to each target so far, by target base URL. */
  forwarded: Map<string, number>;
  setTargets(targets: string[]): void;
  close(): Promise<void>;
}

/** Round robin over `targets` (base URLs such as http://127.0.0.1:1234); a target that refuses is skipped. */
export async function startLoadBalancer(targets: string[]): Promise<LoadBalancer> {
  let current = [...targets];
  let next = 0;
  const forwarded = new Map<string, number>();
  const forward = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, body: Buffer, tries: number) => {
    if (current.length === 0 || tries >= current.length) {
      res.writeHead(502).end('no instance answered');
      return;
    }
    const target = current[next++ % current.length]!;
    const url = new URL(req.url ?? '/', target);
    const upstream = request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (answer) => {
      forwarded.set(target, (forwarded.get(target) ?? 0) + 1);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => forward(req, res, body, tries + 1));
    upstream.end(body);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => forward(req, res, Buffer.concat(chunks), 0));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forwarded,
    setTargets: (t) => {
      current = [...t];
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface Instance {
  name: string;
  process: HttpServerProcess;
  /** http://127.0.0.1:PORT (without /mcp). */
  base: string;
}

export async function startInstance(name: string, env: Record<string, string>, args: string[] = []): Promise<Instance> {
  const process = await startHttpServer({ env: { ...env, TWILIO_MCP_INSTANCE_NAME: name }, args });
  return { name, process, base: process.url.replace(/\/mcp$/, '') };
}

/** POSTs a webhook signed as Twilio signs it for `publicBase + path`, to `target + path`. */
export async function postSignedWebhook(target: string, publicBase: string, path: string, params: Record<string, string>, authToken: string): Promise<number> {
  const signature = twilio.getExpectedTwilioSignature(authToken, `${publicBase}${path}`, params);
  const response = await fetch(`${target}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    body: new URLSearchParams(params).toString(),
  });
  await response.text();
  return response.status;
}
