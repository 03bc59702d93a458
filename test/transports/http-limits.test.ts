/**
 * startHttp's per-client guards over real sockets: wrong bearer tokens are limited per
 * address before the token is compared, and 2025-era sessions are capped per address as
 * well as globally. Clients are told apart by source address: every 127.0.0.0/8 address
 * reaches a listener on 127.0.0.1.
 */
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { enableResourceSubscriptions } from '../../src/server/resource-subscriptions.js';
import { type HttpHandle, type HttpOptions, startHttp } from '../../src/transports/http.js';

const TOKEN = 'transport-test-token-0123456789abcdef';
const handles: HttpHandle[] = [];
afterEach(async () => {
  for (const h of handles.splice(0)) await h.close();
});

async function serve(options: Partial<HttpOptions>): Promise<HttpHandle> {
  const factory = () => {
    const server = new McpServer({ name: 'limits', version: '1.0.0' }, { capabilities: {} });
    server.registerResource('watched', 'test://watched', { mimeType: 'text/plain' }, async (uri) => ({ contents: [{ uri: uri.href, text: 'x' }] }));
    enableResourceSubscriptions(server);
    return server;
  };
  const handle = await startHttp(factory, { host: '127.0.0.1', port: 0, stateless: false, ...options });
  handles.push(handle);
  return handle;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One JSON-RPC POST to /mcp from `from`, read to the end (an SSE answer included). */
function post(url: string, from: string, message: object, headers: Record<string, string> = {}): Promise<Answer> {
  const body = JSON.stringify(message);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      localAddress: from,
      agent: false,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': Buffer.byteLength(body), ...headers },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.end(body);
  });
}

const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'limits', version: '1.0.0' } } };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Opens a 2025-era session from `from`; returns its id (or the refusal). */
async function openSession(url: string, from: string, headers: Record<string, string> = {}): Promise<{ id?: string; answer: Answer }> {
  const answer = await post(url, from, initialize, headers);
  return { id: answer.headers['mcp-session-id'] as string | undefined, answer };
}

/** Whether session `id` still answers a ping. */
async function alive(url: string, from: string, id: string): Promise<boolean> {
  const answer = await post(url, from, { jsonrpc: '2.0', id: 2, method: 'ping' }, { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' });
  if (answer.status === 404) return false;
  expect(answer.status).toBe(200);
  return true;
}

describe('failed bearer tokens', () => {
  it('after N wrong tokens an address gets 429 without its token being looked at; others and successes are unaffected', async () => {
    const http = await serve({ bearerToken: TOKEN, authFailureLimit: { maxFailures: 3, windowMs: 60_000 } });

    // Successful requests cost nothing: many of them, then still all three failures to spend.
    for (let i = 0; i < 12; i++) expect((await openSession(http.url, '127.0.0.1', bearer(TOKEN))).answer.status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const wrong = await openSession(http.url, '127.0.0.1', bearer(`guess-${i}`));
      expect(wrong.answer.status).toBe(401);
    }
    const limited = await openSession(http.url, '127.0.0.1', bearer('guess-3'));
    expect(limited.answer.status).toBe(429);
    expect(Number(limited.answer.headers['retry-after'])).toBeGreaterThanOrEqual(59);
    expect(JSON.parse(limited.answer.body).error).toMatch(/too many failed bearer-token attempts/);
    // The right token does not help from the blocked address: it is not even compared.
    expect((await openSession(http.url, '127.0.0.1', bearer(TOKEN))).answer.status).toBe(429);
    expect((await openSession(http.url, '127.0.0.1')).answer.status).toBe(429);
    // Another address is not affected.
    const other = await openSession(http.url, '127.0.0.2', bearer(TOKEN));
    expect(other.answer.status).toBe(200);
    expect(other.id).toMatch(/[0-9a-f-]{36}/);
  });
});

describe('2025-era session caps', () => {
  it('a client over its own share is refused with a clear error; nobody else loses a session', async () => {
    const http = await serve({ sessionLimits: { max: 100, perClient: 2 } });
    const other = await openSession(http.url, '127.0.0.2');
    expect(other.id).toBeDefined();
    const mine = [await openSession(http.url, '127.0.0.1'), await openSession(http.url, '127.0.0.1')];
    expect(mine.map((s) => s.answer.status)).toEqual([200, 200]);

    for (let i = 0; i < 5; i++) {
      const refused = await openSession(http.url, '127.0.0.1');
      expect(refused.answer.status).toBe(429);
      expect(refused.id).toBeUndefined();
      expect(JSON.parse(refused.answer.body).error.message).toMatch(/Too many open sessions from this address \(limit 2\).*DELETE/);
    }
    expect(await alive(http.url, '127.0.0.2', other.id!)).toBe(true);
    for (const s of mine) expect(await alive(http.url, '127.0.0.1', s.id!)).toBe(true);
  });

  it('at the global cap, the client holding the most sessions gives one up, not the others', async () => {
    const http = await serve({ sessionLimits: { max: 4, perClient: 3 } });
    // The light client's session is the oldest of all: a plain LRU would close it.
    const light = (await openSession(http.url, '127.0.0.2')).id!;
    const heavy = [];
    for (let i = 0; i < 3; i++) heavy.push((await openSession(http.url, '127.0.0.1')).id!);
    const newcomer = await openSession(http.url, '127.0.0.3');
    expect(newcomer.answer.status).toBe(200);

    expect(await alive(http.url, '127.0.0.2', light)).toBe(true);
    expect(await alive(http.url, '127.0.0.3', newcomer.id!)).toBe(true);
    // The heavy client's least recently used session (its first) made room.
    const heavyAlive = [];
    for (const id of heavy) heavyAlive.push(await alive(http.url, '127.0.0.1', id));
    expect(heavyAlive).toEqual([false, true, true]);
  });
});

/** fetch over node:http from a chosen source address, streaming the answer (SSE included). */
function fetchFrom(localAddress: string): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body = init?.body ? Buffer.from(await new Response(init.body).arrayBuffer()) : undefined;
    return new Promise<Response>((resolve, reject) => {
      const req = request(url, { method: init?.method ?? 'GET', headers: Object.fromEntries(new Headers(init?.headers)), localAddress, agent: false, signal: init?.signal ?? undefined });
      req.on('response', (res) => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers.set(name, String(value));
        const status = res.statusCode ?? 0;
        const noBody = status === 202 || status === 204 || init?.method === 'HEAD';
        if (noBody) res.resume();
        resolve(new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream), { status, headers }));
      });
      req.on('error', reject);
      req.end(body);
    });
  };
}

describe('2026-07-28 listen streams', () => {
  it('a client at its share of open subscriptions/listen streams is refused; another address still gets one', async () => {
    const http = await serve({ sessionLimits: { listensPerClient: 2 } });
    const connect = async (from: string) => {
      const client = new Client({ name: `listen-${from}`, version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      await client.connect(new StreamableHTTPClientTransport(new URL(http.url), { fetch: fetchFrom(from) }));
      return client;
    };
    const greedy = await connect('127.0.0.1');
    const other = await connect('127.0.0.2');
    try {
      const held = [await greedy.listen({ resourceSubscriptions: ['test://watched'] }), await greedy.listen({ resourceSubscriptions: ['test://watched'] })];
      await expect(greedy.listen({ resourceSubscriptions: ['test://watched'] })).rejects.toThrow(/Too many open subscriptions\/listen streams|429/);
      const theirs = await other.listen({ resourceSubscriptions: ['test://watched'] });
      await theirs.close();
      // Closing one frees the share again (the count follows the streams, not the requests).
      await held[0]!.close();
      const again = await pollListen(() => greedy.listen({ resourceSubscriptions: ['test://watched'] }));
      await again.close();
      await held[1]!.close();
    } finally {
      await greedy.close();
      await other.close();
    }
  });
});

/** The server sees a closed stream a moment after the client closes it: retry, bounded. */
async function pollListen<T>(open: () => Promise<T>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await open();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
