/**
 * Resource updates over Streamable HTTP for a 2026-07-28 client (the v2 client): its
 * per-request server instances cannot reach a `subscriptions/listen` stream, so startHttp
 * publishes changes on the event bus it gives createMcpHandler (option `resourceUpdates`).
 * Composed in process as main.ts composes it: the app (embedded sandbox), the server
 * factory, the receiver on the HTTP port.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/cli/start-app.js';
import { createServer } from '../../src/server/create-server.js';
import { INBOX_URI, twilioResourceChanges } from '../../src/server/twilio-resources.js';
import { type HttpHandle, startHttp } from '../../src/transports/http.js';

const MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;

let app: App;
let http: HttpHandle;
let client: Client;
const updates: string[] = [];
const waiters: Array<() => void> = [];

/** Resolves once `uri` has been announced (bounded). */
function updateOf(uri: string, timeoutMs = 8000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no notifications/resources/updated for ${uri} within ${timeoutMs} ms; got ${JSON.stringify(updates)}`)), timeoutMs);
    const check = () => {
      if (!updates.includes(uri)) return false;
      clearTimeout(timer);
      resolve();
      return true;
    };
    if (!check()) waiters.push(() => void check());
  });
}

beforeAll(async () => {
  const env = { TWILIO_MCP_DATA_DIR: mkdtempSync(join(tmpdir(), 'mcp-twilio-http-updates-')), TWILIO_MCP_QUIET_HOURS: 'off', TWILIO_SANDBOX_DELIVERY_MS: '300' };
  app = await startApp({ forceSandbox: true, readOnly: false, toolsets: 'all', webhookPort: 'shared', env });
  const factory = () => createServer({ services: app.services, tools: app.tools.enabled, instructions: app.instructions, events: app.events });
  http = await startHttp(factory, { host: '127.0.0.1', port: 0, stateless: false, extraRoutes: app.handleWebhook, resourceUpdates: twilioResourceChanges(app.events) });
  app.setReceiverLocalUrl(http.url.replace(/\/mcp$/, ''));
  client = new Client({ name: 'modern-http', version: '1.0.0' }, MODERN);
  client.setNotificationHandler('notifications/resources/updated', (n) => {
    updates.push(n.params.uri);
    for (const wake of waiters.splice(0)) wake();
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
});
afterAll(async () => {
  await client?.close();
  await http?.close();
  await app?.close();
});

const json = (result: Awaited<ReturnType<Client['callTool']>>) => JSON.parse((result.content as Array<{ text: string }>)[0]!.text);

describe('resource updates for a 2026-07-28 HTTP client', () => {
  it('negotiated 2026-07-28', () => {
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
  });

  it('hears of a new inbound message on twilio://inbox', async () => {
    const subscription = await client.listen({ resourceSubscriptions: [INBOX_URI] });
    try {
      const simulated = await client.callTool({ name: 'simulate_inbound_message', arguments: { from: '+14155550700', body: 'a reply' } });
      expect(json(simulated)).toMatchObject({ stored: true });
      await updateOf(INBOX_URI);
      const inbox = await client.readResource({ uri: INBOX_URI });
      expect((inbox.contents[0] as { text: string }).text).toContain('a reply');
    } finally {
      await subscription.close();
    }
  });

  it("hears of a sent message's status change on twilio://messages/{sid}, and only of what it named", async () => {
    const sent = json(await client.callTool({ name: 'send_sms', arguments: { to: '+14155550701', body: 'follow me' } }));
    const uri = `twilio://messages/${sent.message_sid}`;
    updates.length = 0;
    const subscription = await client.listen({ resourceSubscriptions: [uri] });
    try {
      // Stored (and published) before the tool answers; this stream did not name the inbox.
      expect(json(await client.callTool({ name: 'simulate_inbound_message', arguments: { from: '+14155550702', body: 'unwatched' } }))).toMatchObject({ stored: true });
      await updateOf(uri);
      expect(updates).not.toContain(INBOX_URI);
    } finally {
      await subscription.close();
    }
  });
});
