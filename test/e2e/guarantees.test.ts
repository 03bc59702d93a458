/**
 * What the README promises, through the BUILT server (spawned, real MCP client), against
 * a standalone sandbox in this process so that what reached "Twilio" is counted at the
 * emulator itself: caps surviving a real restart, configure_webhooks really changing the
 * number, the twilio:// resources, TWILIO_MCP_READ_ONLY, and API-key credentials in the
 * secrets sweep. (The guard's behaviour in depth lives in test/inprocess, where Stryker's
 * mutants can reach it.)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { callTool, connectStdio, startHttpServer } from '../helpers/server-process.js';

let sandbox: SandboxHandle;
beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 20, sentMs: 40, deliveredMs: 80 } });
});
afterAll(() => sandbox?.close());

/** A live-style server configuration whose "Twilio" is the standalone sandbox. */
const liveEnv = (extra: Record<string, string> = {}) => ({
  TWILIO_ACCOUNT_SID: sandbox.accountSid,
  TWILIO_AUTH_TOKEN: sandbox.authToken,
  TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
  TWILIO_MESSAGING_SERVICE_SID: sandbox.messagingServiceSid,
  TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
  ...extra,
});

async function sandboxGet(path: string): Promise<any> {
  const response = await fetch(`${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}${path}`, {
    headers: { authorization: `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}` },
  });
  expect(response.status).toBe(200);
  return response.json();
}
const reachedSandbox = async (to: string) => ((await sandboxGet(`/Messages.json?${new URLSearchParams({ To: to, PageSize: '1000' })}`)).messages as unknown[]).length;

describe('caps survive a real server restart', () => {
  it('two sends, restart on the same data dir, the third is refused and never reaches the sandbox', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mcp-twilio-restart-'));
    const env = liveEnv({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '2', TWILIO_MCP_DATA_DIR: dataDir });
    const first = await connectStdio({ env });
    try {
      for (const to of ['+14155551000', '+14155551001']) expect((await callTool(first.client, 'send_sms', { to, body: `before ${to}` })).isError).toBe(false);
    } finally {
      await first.close();
    }
    const second = await connectStdio({ env });
    try {
      const to = '+14155551002';
      const refused = await callTool(second.client, 'send_sms', { to, body: 'after restart' });
      expect(refused.isError).toBe(true);
      expect(refused.json).toMatchObject({ rule: 'caps', used: 2, limit: 2 });
      expect(await reachedSandbox(to)).toBe(0);
      // The duplicate window is on disk too.
      const again = await callTool(second.client, 'send_sms', { to: '+14155551000', body: 'before +14155551000' });
      expect(again.isError).toBe(true);
      expect(await reachedSandbox('+14155551000')).toBe(1);
    } finally {
      await second.close();
    }
  });
});

describe('configure_webhooks', () => {
  it("really points the sandbox number's sms_url at this server's receiver (read back from the sandbox)", async () => {
    sandbox.configureNumber({ smsUrl: null });
    const numberOf = async () => (await sandboxGet(`/IncomingPhoneNumbers.json?${new URLSearchParams({ PhoneNumber: sandbox.testSenderNumber })}`)).incoming_phone_numbers[0];
    expect((await numberOf()).sms_url || null).toBeNull();
    const server = await connectStdio({ env: liveEnv({ TWILIO_WEBHOOK_URL: 'https://hooks.example.com' }) });
    try {
      const result = await callTool(server.client, 'configure_webhooks', {});
      expect(result.isError).toBe(false);
      const after = await numberOf();
      expect(after.sms_url).toMatch(/^https:\/\/hooks\.example\.com\/.*inbound/);
      expect(result.json.sms_url).toBe(after.sms_url);
      expect(after.sms_method).toBe('POST');
    } finally {
      await server.close();
      sandbox.configureNumber({ smsUrl: null });
    }
  });
});

describe('resources', () => {
  it('twilio://messages/{sid}, twilio://calls/{sid} (unknown) and twilio://policy', async () => {
    const server = await connectStdio({ env: liveEnv({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '7' }) });
    try {
      const sent = await callTool(server.client, 'send_sms', { to: '+14155551010', body: 'resource me' });
      const sid = sent.json.message_sid as string;
      expect(sid).toMatch(/^SM[0-9a-f]{32}$/);
      const read = async (uri: string) => {
        const { contents } = await server.client.readResource({ uri });
        expect(contents[0]).toMatchObject({ uri, mimeType: 'application/json' });
        return JSON.parse((contents[0] as { text: string }).text);
      };
      expect(await read(`twilio://messages/${sid}`)).toMatchObject({ sid, current_status: expect.any(String) });
      const unknownCall = `CA${'0'.repeat(32)}`;
      expect(await read(`twilio://calls/${unknownCall}`)).toMatchObject({ sid: unknownCall, note: expect.stringMatching(/No call status/) });
      const policy = await read('twilio://policy');
      expect(policy).toMatchObject({ caps: { messages_per_hour: 7 } });
      expect(policy.caps.used.messages_this_hour).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe('TWILIO_MCP_READ_ONLY=1', () => {
  it('lists no send tool, and a send called anyway reaches nothing', async () => {
    const server = await connectStdio({ env: liveEnv({ TWILIO_MCP_READ_ONLY: '1' }) });
    try {
      const names = (await server.client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('list_messages');
      for (const tool of ['send_sms', 'send_whatsapp', 'cancel_message', 'configure_webhooks', 'add_opt_out']) expect(names).not.toContain(tool);
      const to = '+14155551020';
      const refused = await server.client.callTool({ name: 'send_sms', arguments: { to, body: 'read only' } }).then((r) => r.isError === true, () => true);
      expect(refused).toBe(true);
      expect(await reachedSandbox(to)).toBe(0);
    } finally {
      await server.close();
    }
  });
});

describe('secrets sweep with API-key credentials', () => {
  it('the API secret never appears on stdout, stderr or in any result', async () => {
    const API_KEY = `SK${'7'.repeat(32)}`;
    const API_SECRET = 'apisecret-9f8e7d6c5b4a39281706';
    const server = await startHttpServer({
      env: {
        TWILIO_ACCOUNT_SID: sandbox.accountSid,
        TWILIO_API_KEY: API_KEY,
        TWILIO_API_SECRET: API_SECRET,
        TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
        TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
        TWILIO_WEBHOOK_URL: 'https://hooks.example.com',
        TWILIO_MCP_LOG_LEVEL: 'debug',
      },
    });
    let stdout = '';
    server.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    const outputs: string[] = [];
    try {
      const client = new Client({ name: 'sweeper', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
      const calls: Array<[string, Record<string, unknown>]> = [
        ['send_sms', { to: '+14155551030', body: 'with an api key' }],
        ['send_sms', { to: '+15005550001', body: 'invalid number' }],
        ['get_message', { sid: `SM${'0'.repeat(32)}` }],
        ['list_messages', { limit: 3 }],
        ['configure_webhooks', {}],
        ['get_server_status', {}],
        ['get_policy', {}],
        ['get_audit_log', {}],
      ];
      for (const [name, args] of calls) outputs.push(JSON.stringify(await client.callTool({ name, arguments: args })));
      await client.close();
    } finally {
      await server.stop();
    }
    const everything = [...outputs, stdout, server.stderr()].join('\n');
    // The sweep saw real traffic: results for every call and the server's logs.
    expect(outputs).toHaveLength(8);
    expect(server.stderr()).toMatch(/TWILIO_MCP_API_BASE_URL is set/);
    expect(everything).not.toContain(API_SECRET);
    expect(everything).not.toContain(Buffer.from(`${API_KEY}:${API_SECRET}`).toString('base64'));
  });
});
