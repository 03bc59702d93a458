/**
 * Claims about the binary that an audit broke on purpose and no test caught: the port
 * given to --webhook-port is the port the receiver listens on, and /mcp is rate limited
 * per client (TWILIO_MCP_RATE_LIMIT_PER_MINUTE, and by default beyond loopback). Through
 * the BUILT server, live-style against a sandbox started here.
 */
import { createServer } from 'node:net';
import { request } from 'node:http';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { callTool, connectStdio, startHttpServer } from '../helpers/server-process.js';

const PUBLIC = 'https://hooks.audit.example';
const INBOUND = '/webhooks/twilio/messages/inbound';
const TOKEN = 'audit-gaps-token-0123456789abcdef0123';

let sandbox: SandboxHandle;
let liveEnv: Record<string, string>;
beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 20, sentMs: 40, deliveredMs: 80 } });
  liveEnv = {
    TWILIO_ACCOUNT_SID: sandbox.accountSid,
    TWILIO_AUTH_TOKEN: sandbox.authToken,
    TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
    TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
    TWILIO_WEBHOOK_URL: PUBLIC,
  };
});
afterAll(() => sandbox?.close());

/** A loopback port nobody listens on right now (the OS picks it; closed again at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Answer {
  status: number;
  retryAfter: string | undefined;
}

/** One POST from a chosen loopback source address (every 127.0.0.0/8 address reaches 127.0.0.1). */
function post(url: string, body: string, headers: Record<string, string>, from = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', localAddress: from, agent: false, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.end(body);
  });
}

describe('--webhook-port N (break: the number is ignored and a free port is used instead)', () => {
  it('the receiver listens on exactly that port: a signed inbound POST to it lands in the inbox', async () => {
    const port = await freePort();
    const server = await connectStdio({ env: liveEnv, args: ['--webhook-port', String(port)] });
    try {
      // startApp awaits the listener before the MCP session is served: it is up by now.
      expect(server.stderr()).toContain(`webhook receiver at http://127.0.0.1:${port}`);
      const params = { MessageSid: `SM${'c'.repeat(32)}`, AccountSid: sandbox.accountSid, From: '+14155550880', To: sandbox.testSenderNumber, Body: 'to the chosen port', NumMedia: '0' };
      const answer = await post(`http://127.0.0.1:${port}${INBOUND}`, new URLSearchParams(params).toString(), {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(sandbox.authToken, `${PUBLIC}${INBOUND}`, params),
      });
      expect(answer.status).toBe(200);
      const inbox = await callTool(server.client, 'list_inbound_messages', { from: '+14155550880' });
      expect((inbox.json.messages as Array<{ body: string }>).map((m) => m.body)).toEqual(['to the chosen port']);
    } finally {
      await server.close();
    }
  });
});

describe('HTTP rate limiting on /mcp (break: the limiter is never consulted, or never configured)', () => {
  const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
  const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${TOKEN}` };

  /** Sends `count` pings one after another from `from`; the statuses in order. */
  async function pings(url: string, count: number, from: string): Promise<Answer[]> {
    const answers: Answer[] = [];
    for (let i = 0; i < count; i++) answers.push(await post(url, ping, mcpHeaders, from));
    return answers;
  }

  it('TWILIO_MCP_RATE_LIMIT_PER_MINUTE=60 on loopback: a burst past the allowance gets 429 with Retry-After; another address is not slowed', async () => {
    const server = await startHttpServer({ env: { ...liveEnv, TWILIO_MCP_HTTP_TOKEN: TOKEN, TWILIO_MCP_RATE_LIMIT_PER_MINUTE: '60' } });
    try {
      // Burst: max(10, 60 / 5) = 12 requests, then one a second.
      const answers = await pings(server.url, 20, '127.0.0.7');
      expect(answers.slice(0, 10).every((a) => a.status !== 429)).toBe(true);
      const limited = answers.filter((a) => a.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      expect(Number(limited[0]!.retryAfter)).toBeGreaterThan(0);
      expect((await post(server.url, ping, mcpHeaders, '127.0.0.8')).status).not.toBe(429);
    } finally {
      await server.stop();
    }
  });

  it('beyond loopback the limit is on by default (600 a minute, a burst of 120)', async () => {
    const server = await startHttpServer({ args: ['--host', '0.0.0.0'], env: { ...liveEnv, TWILIO_MCP_HTTP_TOKEN: TOKEN, TWILIO_MCP_ALLOWED_HOSTS: '127.0.0.1' } });
    try {
      const url = server.url.replace('0.0.0.0', '127.0.0.1');
      // 300 requests, 20 at a time: even on a loaded machine they arrive far faster than the
      // bucket (120, refilled at 10 a second) refills, so some must be refused.
      const first = await post(url, ping, mcpHeaders, '127.0.0.9');
      const answers = [first];
      for (let batch = 0; batch < 15; batch++) {
        answers.push(...(await Promise.all(Array.from({ length: 20 }, () => post(url, ping, mcpHeaders, '127.0.0.9')))));
      }
      expect(answers[0]!.status).not.toBe(429);
      expect(answers.filter((a) => a.status === 429).length).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  });
});
