/**
 * Buying a number asks the user first when the client can ask (elicitation): the question
 * names the monthly price, a "no" buys nothing, a "yes" carrying this request's state buys
 * exactly one. Counted in the sandbox's own number list. In-process behind the real HTTP
 * transport (the 2026-07-28 revision, manual input fulfilment), as the first-contact test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, type App } from '../../src/cli/start-app.js';
import { createServer } from '../../src/server/create-server.js';
import { type HttpHandle, startHttp } from '../../src/transports/http.js';

const MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;
let app: App;
let client: Client;
let dataDir: string;
let http: HttpHandle;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mcp-twilio-buy-'));
  app = await startApp({
    forceSandbox: false,
    readOnly: false,
    toolsets: 'numbers',
    webhookPort: 'shared',
    env: { TWILIO_MCP_ALLOW_NUMBER_PURCHASE: 'true', TWILIO_MCP_DATA_DIR: dataDir },
  });
  const factory = () => createServer({ services: app.services, tools: app.tools.enabled, instructions: app.instructions, events: app.events });
  http = await startHttp(factory, { host: '127.0.0.1', port: 0, stateless: false, extraRoutes: app.handleWebhook });
  app.setReceiverLocalUrl(http.url.replace(/\/mcp$/, ''));
  client = new Client({ name: 'manual-confirm', version: '1.0.0' }, { ...MODERN, capabilities: { elicitation: {} }, inputRequired: { autoFulfill: false } });
  client.setRequestHandler('elicitation/create', async () => ({ action: 'decline' }));
  await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
});

afterAll(async () => {
  await client?.close();
  await http?.close();
  await app?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function ownedNumbers(): Promise<string[]> {
  const sandbox = await app.sandbox!();
  const url = `${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}/IncomingPhoneNumbers.json`;
  const page = (await (await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}` } })).json()) as { incoming_phone_numbers: Array<{ phone_number: string }> };
  return page.incoming_phone_numbers.map((n) => n.phone_number);
}

type Round = { resultType?: string; requestState?: string; inputRequests?: Record<string, { params?: { message?: string } }>; isError?: boolean; content?: Array<{ text?: string }> };
const buy = (args: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  client.callTool({ name: 'buy_phone_number', arguments: args, ...extra } as never, { allowInputRequired: true } as never) as Promise<Round>;

it('asks with the price; "no" buys nothing; "yes" for this request buys exactly one', async () => {
  const before = await ownedNumbers();
  const wanted = '+14155550188';
  const asked = await buy({ phone_number: wanted });
  expect(asked.resultType).toBe('input_required');
  const question = JSON.stringify(asked.inputRequests);
  expect(question).toMatch(/Buy \+14155550188\? It costs about \$1\.15 a month until released/);
  expect(await ownedNumbers()).toEqual(before);

  const declined = await buy({ phone_number: wanted }, { inputResponses: { confirm_first_contact: { action: 'decline' } }, requestState: asked.requestState });
  expect(declined.isError).toBe(true);
  expect(declined.content?.[0]?.text).toMatch(/did not confirm; nothing was done/);
  expect(await ownedNumbers()).toEqual(before);

  const again = await buy({ phone_number: wanted });
  const yes = await buy({ phone_number: wanted }, { inputResponses: { confirm_first_contact: { action: 'accept', content: { confirm: true } } }, requestState: again.requestState });
  expect(yes.isError, yes.content?.[0]?.text).toBeFalsy();
  const after = await ownedNumbers();
  expect(after).toContain(wanted);
  expect(after).toHaveLength(before.length + 1);
});
