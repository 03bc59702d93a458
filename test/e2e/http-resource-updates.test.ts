/**
 * Through the real server binary: a 2026-07-28 client over Streamable HTTP (the v2 client)
 * opens subscriptions/listen and hears of a new inbound message (twilio://inbox) and of a
 * sent message's status change (twilio://messages/{sid}). Needs main.ts to pass
 * `resourceUpdates` to startHttp (see src/transports/http.ts).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, startHttpServer, type HttpServerProcess } from '../helpers/server-process.js';

const MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;
const INBOX = 'twilio://inbox';
let server: HttpServerProcess;
let client: Client;
const updates: string[] = [];
let wake = () => {};

/** Resolves once `uri` was announced; bounded. */
async function announced(uri: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!updates.includes(uri)) {
    if (Date.now() > deadline) throw new Error(`no update for ${uri} within ${timeoutMs} ms; got ${JSON.stringify(updates)}`);
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, Math.max(0, deadline - Date.now()) + 1).unref();
    });
  }
}

beforeAll(async () => {
  server = await startHttpServer();
  client = new Client({ name: 'listen-e2e', version: '1.0.0' }, MODERN);
  client.setNotificationHandler('notifications/resources/updated', (n) => {
    updates.push(n.params.uri);
    wake();
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
});
afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describe('resource updates, 2026-07-28 client over HTTP (real server)', () => {
  it('announces a simulated inbound message on twilio://inbox', async () => {
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const subscription = await client.listen({ resourceSubscriptions: [INBOX] });
    try {
      expect((await callTool(client, 'simulate_inbound_message', { from: '+14155550940', body: 'hello there' })).json.stored).toBe(true);
      await announced(INBOX);
    } finally {
      await subscription.close();
    }
  });

  it("announces a sent message's status change on twilio://messages/{sid}", async () => {
    const sent = await callTool(client, 'send_sms', { to: '+14155550941', body: 'watch my status' });
    expect(sent.isError).toBe(false);
    const uri = `twilio://messages/${sent.json.message_sid}`;
    const subscription = await client.listen({ resourceSubscriptions: [uri] });
    try {
      await announced(uri);
    } finally {
      await subscription.close();
    }
  });
});
