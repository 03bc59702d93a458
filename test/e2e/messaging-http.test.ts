/**
 * End to end over Streamable HTTP: the v2 client (2026-07-28), the v1 client (2025 era,
 * with sessions), and the DNS-rebinding guard.
 */
import { request } from 'node:http';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, connectHttp, pollUntil, startHttpServer, type HttpServerProcess } from '../helpers/server-process.js';

let server: HttpServerProcess;
beforeAll(async () => {
  server = await startHttpServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('Streamable HTTP', () => {
  it('listens on loopback only', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  it('sends and follows delivery with the current client', async () => {
    const client = await connectHttp(server.url);
    const sent = await callTool(client, 'send_sms', { to: '+14155550110', body: 'over http' });
    expect(sent.isError).toBe(false);
    await pollUntil(async () => {
      const got = await callTool(client, 'get_message', { sid: sent.json.message_sid });
      return got.json.status === 'delivered' ? true : undefined;
    });
    const bad = await callTool(client, 'send_sms', { to: '+15005550004', body: 'x' });
    expect(bad.json.twilio_code).toBe(21610);
    await client.close();
  });

  it('serves a 2025-era client (SDK v1) with a session', async () => {
    const client = new V1Client({ name: 'v1', version: '1.0.0' });
    const transport = new V1HttpTransport(new URL(server.url));
    await client.connect(transport);
    expect(transport.sessionId).toMatch(/[0-9a-f-]{36}/);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('send_sms');
    const result = await client.callTool({ name: 'send_sms', arguments: { to: '+14155550111', body: 'v1' } });
    expect(result.isError).toBeFalsy();
    await client.close();
  });

  it('rejects a foreign Host header (DNS rebinding)', async () => {
    // fetch() will not forge Host; node:http will.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(server.url, {
        method: 'POST',
        headers: { host: 'evil.example.com', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
    });
    expect(status).toBe(403);
  });

  it('rejects a foreign Origin', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { origin: 'https://evil.example.com', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(response.status).toBe(403);
  });

  it('answers 404 outside /mcp', async () => {
    expect((await fetch(server.url.replace('/mcp', '/other'))).status).toBe(404);
  });
});
