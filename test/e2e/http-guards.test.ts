/**
 * The HTTP guards through the real server binary: webhooks on the --http port and on
 * --webhook-port in stdio mode, the token required beyond loopback, the 1 MiB body limit,
 * and the per-address limits on wrong bearer tokens and bad webhook signatures.
 * Live-style configuration against a sandbox this test starts, so the test knows the auth
 * token and signs webhooks for TWILIO_WEBHOOK_URL (the public URL is what is signed, not
 * the local port).
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { callTool, connectStdio, pollUntil, SERVER_ENTRY, serverEnv, startHttpServer, type HttpServerProcess } from '../helpers/server-process.js';

const HTTP_TOKEN = 'guards-e2e-token-0123456789abcdef01';
const PUBLIC = 'https://hooks.example.test';
const INBOUND = '/webhooks/twilio/messages/inbound';
const MAX_BODY = 1024 * 1024;
/** The server's default: 10 wrong tokens (or signatures) per address per minute. */
const MAX_FAILURES = 10;

let sandbox: SandboxHandle;
let liveEnv: Record<string, string>;
let server: HttpServerProcess;
let client: Client;
let sid = 0;

beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 20, sentMs: 40, deliveredMs: 80 } });
  liveEnv = {
    TWILIO_ACCOUNT_SID: sandbox.accountSid,
    TWILIO_AUTH_TOKEN: sandbox.authToken,
    TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
    TWILIO_MESSAGING_SERVICE_SID: sandbox.messagingServiceSid,
    TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
    TWILIO_WEBHOOK_URL: PUBLIC,
  };
  server = await startHttpServer({ env: { ...liveEnv, TWILIO_MCP_HTTP_TOKEN: HTTP_TOKEN } });
  client = new Client({ name: 'guards-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { authorization: `Bearer ${HTTP_TOKEN}` } } }));
});
afterAll(async () => {
  await client?.close();
  await server?.stop();
  await sandbox?.close();
});

interface Answer {
  status: number;
  retryAfter?: string;
  body: string;
}

/** One POST from a chosen loopback source address (every 127.0.0.0/8 address reaches 127.0.0.1). */
function post(url: string, body: string | Buffer, headers: Record<string, string>, from = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', localAddress: from, agent: false, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body: text }));
    });
    // A server that answers early (413, 429) may close before the whole body is written.
    req.on('error', (error) => (/EPIPE|ECONNRESET/.test(String(error)) ? undefined : reject(error)));
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.end(body);
  });
}

const inbound = (body: string) => {
  const id = `SM${String(++sid).padStart(32, 'e')}`;
  return { MessageSid: id, SmsSid: id, AccountSid: sandbox.accountSid, From: '+14155550930', To: sandbox.testSenderNumber, Body: body, NumMedia: '0', ApiVersion: '2010-04-01' };
};

/** A webhook POST to `base` signed (or not) for the public URL. */
function postWebhook(base: string, params: Record<string, string>, options: { forged?: boolean; from?: string } = {}) {
  const signature = options.forged ? 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' : twilio.getExpectedTwilioSignature(sandbox.authToken, `${PUBLIC}${INBOUND}`, params);
  return post(`${base}${INBOUND}`, new URLSearchParams(params).toString(), { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, options.from);
}

const inboxBodies = async (c: Client) => ((await callTool(c, 'list_inbound_messages', { limit: 100 })).json.messages as Array<{ body: string }>).map((m) => m.body);
const mcpPost = (body: string | Buffer, token: string, from?: string) =>
  post(server.url, body, { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` }, from);

describe('webhooks through the real server', () => {
  it('serves the receiver on the --http port: a signed inbound POST lands in the inbox', async () => {
    const base = server.url.replace(/\/mcp$/, '');
    expect(await postWebhook(base, inbound('on the mcp port'))).toMatchObject({ status: 200 });
    expect(await postWebhook(base, inbound('forged on the mcp port'), { forged: true })).toMatchObject({ status: 403 });
    const bodies = await inboxBodies(client);
    expect(bodies).toContain('on the mcp port');
    expect(bodies).not.toContain('forged on the mcp port');
  });

  it('serves the receiver on --webhook-port in stdio mode', async () => {
    const stdio = await connectStdio({ env: liveEnv, args: ['--webhook-port', '0'] });
    try {
      const base = await pollUntil(async () => /webhook receiver at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdio.stderr())?.[1], 10_000, 50);
      expect(await postWebhook(base, inbound('on the webhook port'))).toMatchObject({ status: 200 });
      expect(await inboxBodies(stdio.client)).toContain('on the webhook port');
    } finally {
      await stdio.close();
    }
  });

  it('limits bad signatures per address: 429 before the signature is checked, others unaffected', async () => {
    const base = server.url.replace(/\/mcp$/, '');
    for (let i = 0; i < MAX_FAILURES; i++) expect((await postWebhook(base, inbound(`probe ${i}`), { forged: true, from: '127.0.0.3' })).status).toBe(403);
    const limited = await postWebhook(base, inbound('signed but blocked'), { from: '127.0.0.3' });
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    expect(await postWebhook(base, inbound('signed elsewhere'), { from: '127.0.0.4' })).toMatchObject({ status: 200 });
    const bodies = await inboxBodies(client);
    expect(bodies).toContain('signed elsewhere');
    expect(bodies).not.toContain('signed but blocked');
  });
});

describe('HTTP guards through the real server', () => {
  it('refuses to listen beyond loopback without TWILIO_MCP_HTTP_TOKEN, and starts with one', async () => {
    const outcome = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [SERVER_ENTRY, '--http', '--host', '0.0.0.0', '--port', '0'], { env: serverEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      // Bounded: a server that started instead of refusing is stopped and reported.
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
    expect(outcome.stderr).not.toMatch(/MCP Streamable HTTP at/);
    expect(outcome.code).toBeGreaterThan(0);
    expect(outcome.stderr).toMatch(/TWILIO_MCP_HTTP_TOKEN/);

    const withToken = await startHttpServer({ args: ['--host', '0.0.0.0'], env: { TWILIO_MCP_HTTP_TOKEN: HTTP_TOKEN } });
    await withToken.stop();
  });

  it('answers 413 to a request body over 1 MiB, and serves one just under it', async () => {
    const ping = (padding: number) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { _meta: { pad: 'x'.repeat(padding) } } });
    const envelope = ping(0).length;
    const over = await mcpPost(ping(MAX_BODY - envelope + 1), HTTP_TOKEN);
    expect(over.status).toBe(413);
    const under = await mcpPost(ping(MAX_BODY - envelope - 1), HTTP_TOKEN);
    expect(under.status).not.toBe(413);
    expect(under.status).toBeLessThan(500);
  });

  it('limits wrong bearer tokens per address: 429 before the token is compared; the right client is not slowed', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    for (let i = 0; i < MAX_FAILURES; i++) expect((await mcpPost(body, `guess-${i}`, '127.0.0.2')).status).toBe(401);
    const limited = await mcpPost(body, 'guess-last', '127.0.0.2');
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    // From the blocked address even the right token is not looked at.
    expect((await mcpPost(body, HTTP_TOKEN, '127.0.0.2')).status).toBe(429);
    // The legitimate client on another address carries on, many requests in a row.
    for (let i = 0; i < MAX_FAILURES + 5; i++) expect((await callTool(client, 'get_server_status', {})).isError).toBe(false);
  });
});
