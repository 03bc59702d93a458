/**
 * First-contact confirmation counts only as the answer to a request this server issued for
 * this very call. A client in manual mode (2026-07-28, no auto-fulfilment) plays every part
 * by hand: unsolicited answers, an answer with a forged or reused request state, an answer
 * carried over to other arguments. What reached the embedded sandbox is counted each time.
 * In-process (real startApp + createServer behind the real HTTP transport on loopback: the
 * 2026-07-28 revision is served by createMcpHandler), so mutants show.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/cli/start-app.js';
import { createServer } from '../../src/server/create-server.js';
import { type HttpHandle, startHttp } from '../../src/transports/http.js';

const MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;
const ACCEPT = { confirm_first_contact: { action: 'accept', content: { confirm: true } } };
let app: App;
let client: Client;
let dataDir: string;
let http: HttpHandle;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mcp-twilio-confirm-'));
  app = await startApp({
    forceSandbox: false,
    readOnly: false,
    toolsets: undefined,
    webhookPort: 'shared',
    env: { TWILIO_MCP_FIRST_CONTACT: 'confirm', TWILIO_MCP_QUIET_HOURS: 'off', TWILIO_SANDBOX_DELIVERY_MS: '60000', TWILIO_MCP_DATA_DIR: dataDir },
  });
  const factory = () => createServer({ services: app.services, tools: app.tools.enabled, instructions: app.instructions, events: app.events });
  http = await startHttp(factory, { host: '127.0.0.1', port: 0, stateless: false, extraRoutes: app.handleWebhook });
  app.setReceiverLocalUrl(http.url.replace(/\/mcp$/, ''));
  client = new Client({ name: 'manual-confirm', version: '1.0.0' }, { ...MODERN, capabilities: { elicitation: {} }, inputRequired: { autoFulfill: false } });
  client.setRequestHandler('elicitation/create', async () => ({ action: 'decline' }));
  await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
  expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
});

afterAll(async () => {
  await client?.close();
  await http?.close();
  await app?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Outgoing messages the sandbox holds for `to`, read from its own REST API. */
async function atSandbox(to: string): Promise<number> {
  const sandbox = await app.sandbox!();
  const url = `${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json?${new URLSearchParams({ To: to })}`;
  const page = (await (await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}` } })).json()) as { messages: unknown[] };
  return page.messages.length;
}

type Round = { resultType?: string; requestState?: string; inputRequests?: Record<string, unknown>; isError?: boolean; content?: Array<{ text?: string }> };
const call = (args: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  client.callTool({ name: 'send_sms', arguments: args, ...extra } as never, { allowInputRequired: true } as never) as Promise<Round>;

describe('first-contact confirmation', () => {
  it('asks, and a confirmation carrying this request state sends exactly once', async () => {
    const args = { to: '+14155550930', body: 'first hello' };
    const asked = await call(args);
    expect(asked.resultType).toBe('input_required');
    expect(Object.keys(asked.inputRequests ?? {})).toEqual(['confirm_first_contact']);
    expect(await atSandbox(args.to)).toBe(0);

    const confirmed = await call(args, { inputResponses: ACCEPT, requestState: asked.requestState });
    expect(confirmed.isError).toBeFalsy();
    expect(await atSandbox(args.to)).toBe(1);

    // The same state again (a replay) sends nothing more.
    await call({ to: '+14155550930', body: 'first hello' }, { inputResponses: ACCEPT, requestState: asked.requestState });
    expect(await atSandbox(args.to)).toBe(1);
  });

  it('an unsolicited "accept" on the first call is not a confirmation: the server asks', async () => {
    const args = { to: '+14155550931', body: 'hello, unasked' };
    const result = await call(args, { inputResponses: ACCEPT });
    expect(result.resultType).toBe('input_required');
    expect(await atSandbox(args.to)).toBe(0);
  });

  it('a confirmation for one send does not confirm different arguments', async () => {
    const asked = await call({ to: '+14155550932', body: 'the text the user saw' });
    expect(asked.resultType).toBe('input_required');
    const swapped = await call({ to: '+14155550933', body: 'something else' }, { inputResponses: ACCEPT, requestState: asked.requestState });
    expect(swapped.resultType).toBe('input_required');
    expect(await atSandbox('+14155550932')).toBe(0);
    expect(await atSandbox('+14155550933')).toBe(0);
  });

  it('a forged request state is refused before the tool runs', async () => {
    const forged = Buffer.from(JSON.stringify({ p: { tool: 'send_sms', nonce: 'x' }, exp: 9_999_999_999 })).toString('base64url');
    await expect(call({ to: '+14155550934', body: 'forged' }, { inputResponses: ACCEPT, requestState: `v1.${forged}.AAAA` })).rejects.toThrow(/requestState/i);
    expect(await atSandbox('+14155550934')).toBe(0);
  });

  it('a decline through our own request sends nothing and says so', async () => {
    const args = { to: '+14155550935', body: 'declined' };
    const asked = await call(args);
    const declined = await call(args, { inputResponses: { confirm_first_contact: { action: 'decline' } }, requestState: asked.requestState });
    expect(declined.isError).toBe(true);
    expect(declined.content?.[0]?.text).toMatch(/did not confirm/);
    expect(await atSandbox(args.to)).toBe(0);
  });
});
