/**
 * Guardrails through the real server: read-only, dry-run, first contact with
 * elicitation, the audit log and its JSONL export, bearer-token HTTP — and a sweep of
 * every result and log line for the secrets.
 */
import { spawnSync } from 'node:child_process';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { callTool, connectStdio, SERVER_ENTRY, serverEnv, startHttpServer } from '../helpers/server-process.js';

describe('read-only mode', () => {
  it('lists no tool that changes anything, and says why each is hidden', async () => {
    const server = await connectStdio({ args: ['--read-only'] });
    try {
      const { tools } = await server.client.listTools();
      for (const tool of tools) expect(tool.annotations?.readOnlyHint).toBe(true);
      expect(tools.map((t) => t.name)).not.toContain('send_sms');
      const status = await callTool(server.client, 'get_server_status', {});
      expect(status.json).toMatchObject({ mode: 'sandbox', read_only: true, account_sid: expect.stringMatching(/^AC5a…0000$/) });
      expect(status.json.hidden_tools).toContainEqual({ name: 'send_sms', reason: expect.stringMatching(/read-only/) });
    } finally {
      await server.close();
    }
  });
});

describe('dry run', () => {
  it('checks everything, shows what would be sent, sends nothing', async () => {
    const server = await connectStdio({ env: { TWILIO_MCP_DRY_RUN: 'true' } });
    try {
      const result = await callTool(server.client, 'send_sms', { to: '+14155550900', body: 'dry' });
      expect(result.json).toMatchObject({ dry_run: true, status: 'dry_run', to: '+14155550900', body: 'dry', segments: 1, estimated_cost_usd: expect.any(Number) });
      expect((await callTool(server.client, 'send_sms', { to: '+447700900123', body: 'abroad' })).json.error).toMatch(/country GB \(United Kingdom, \+44\) is not allowed/);
      const listed = await callTool(server.client, 'list_messages', { to: '+14155550900' });
      expect(listed.json.messages).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('first contact confirmation', () => {
  const connectV1 = async (answer: 'accept' | 'decline' | 'none') => {
    const client = new V1Client({ name: `elicit-${answer}`, version: '1.0.0' }, answer === 'none' ? {} : { capabilities: { elicitation: {} } });
    if (answer !== 'none') {
      client.setRequestHandler(ElicitRequestSchema, async () => (answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' }));
    }
    await client.connect(new V1StdioTransport({ command: process.execPath, args: [SERVER_ENTRY], env: serverEnv({ TWILIO_MCP_FIRST_CONTACT: 'confirm' }), stderr: 'ignore' }));
    return client;
  };
  const text = (r: Awaited<ReturnType<V1Client['callTool']>>) => (r.content as Array<{ text: string }>)[0]!.text;

  it('asks the user through elicitation and sends when they accept', async () => {
    const client = await connectV1('accept');
    try {
      const result = await client.callTool({ name: 'send_sms', arguments: { to: '+14155550901', body: 'first hello' } });
      expect(result.isError).toBeFalsy();
      expect(JSON.parse(text(result)).status).toBe('queued');
    } finally {
      await client.close();
    }
  });

  it('sends nothing when the user declines, or when the client cannot ask', async () => {
    const declining = await connectV1('decline');
    const unable = await connectV1('none');
    try {
      const declined = await declining.callTool({ name: 'send_sms', arguments: { to: '+14155550902', body: 'first hello' } });
      expect(declined.isError).toBe(true);
      expect(text(declined)).toMatch(/did not confirm/);
      const refused = await unable.callTool({ name: 'send_sms', arguments: { to: '+14155550903', body: 'first hello' } });
      expect(refused.isError).toBe(true);
      expect(text(refused)).toMatch(/cannot ask/);
    } finally {
      await declining.close();
      await unable.close();
    }
  });
});

describe('audit log, secrets and bearer-token HTTP (live-style credentials against a sandbox)', () => {
  let sandbox: SandboxHandle;
  const HTTP_TOKEN = 'http-token-0123456789abcdef0123';
  let env: Record<string, string>;

  beforeAll(async () => {
    sandbox = await startSandbox({ timing: { sendingMs: 20, sentMs: 40, deliveredMs: 80 } });
    env = serverEnv({
      TWILIO_ACCOUNT_SID: sandbox.accountSid,
      TWILIO_AUTH_TOKEN: sandbox.authToken,
      TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
      TWILIO_MESSAGING_SERVICE_SID: sandbox.messagingServiceSid,
      TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
      TWILIO_MCP_HTTP_TOKEN: HTTP_TOKEN,
    });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('records side effects with bodies redacted, exports JSONL, and never prints a secret', async () => {
    const server = await startHttpServer({ env });
    const outputs: string[] = [];
    try {
      const unauthorized = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
      expect(unauthorized.status).toBe(401);
      expect(unauthorized.headers.get('www-authenticate')).toMatch(/^Bearer/);
      outputs.push(await unauthorized.text());

      const client = new V1Client({ name: 'auditor', version: '1.0.0' });
      await client.connect(new V1HttpTransport(new URL(server.url), { requestInit: { headers: { authorization: `Bearer ${HTTP_TOKEN}` } } }));
      const calls: Array<[string, Record<string, unknown>]> = [
        ['send_sms', { to: '+14155550910', body: 'secret plans for friday' }],
        ['send_sms', { to: '+15005550001', body: 'bad number' }],
        ['send_sms', { to: '+14155550911', body: 'x', from: '+15005550007' }],
        ['get_message', { sid: `SM${'0'.repeat(32)}` }],
        ['get_server_status', {}],
        ['get_policy', {}],
        ['list_messages', { limit: 5 }],
        ['configure_webhooks', {}],
      ];
      for (const [name, args] of calls) {
        const result = await client.callTool({ name, arguments: args });
        outputs.push(JSON.stringify(result));
      }
      const audit = await client.callTool({ name: 'get_audit_log', arguments: { tool: 'send_sms' } });
      outputs.push(JSON.stringify(audit));
      const entries = JSON.parse((audit.content as Array<{ text: string }>)[0]!.text).entries;
      expect(entries).toHaveLength(3);
      const ok = entries.find((e: { result_sid: string | null }) => e.result_sid);
      expect(ok).toMatchObject({ tool: 'send_sms', client: 'auditor', arguments: { to: '+14155550910', body: '[redacted: 23 chars]' }, session_id: expect.any(String) });
      expect(entries.filter((e: { error: string | null }) => e.error)).toHaveLength(2);
      expect(JSON.stringify(entries)).not.toContain('secret plans');
      await client.close();
    } finally {
      await server.stop();
    }
    outputs.push(server.stderr());

    const exported = spawnSync(process.execPath, [SERVER_ENTRY, 'audit-export'], { env, encoding: 'utf8' });
    expect(exported.status).toBe(0);
    const lines = exported.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.tool)).toEqual(['send_sms', 'send_sms', 'send_sms', 'configure_webhooks']);
    outputs.push(exported.stdout, exported.stderr);

    const everything = outputs.join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    for (const secret of [sandbox.authToken, HTTP_TOKEN]) expect(everything).not.toContain(secret);
  });
});
