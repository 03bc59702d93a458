/**
 * Voice end to end through the real server binary, over stdio and over Streamable HTTP,
 * on the embedded sandbox: a call is placed, walked and completed (status history from the
 * server's own receiver), and a hosted IVR flow answers an inbound call whose caller's path
 * is read back through get_call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { callTool, connectHttp, connectStdio, pollUntil, startHttpServer, type Connected, type HttpServerProcess } from '../helpers/server-process.js';
import { SUPPORT_FLOW as FLOW } from '../helpers/ivr-flows.js';


async function exercise(client: Client, caller: string) {
  const placed = await callTool(client, 'make_call', { to: caller, say: 'Hello from the e2e test.' });
  expect(placed.isError, JSON.stringify(placed.json)).toBe(false);
  const done = await pollUntil(async () => {
    const call = await callTool(client, 'get_call', { sid: placed.json.call_sid });
    return call.json.status === 'completed' && (call.json.status_history?.length ?? 0) >= 4 ? call : undefined;
  });
  expect(done.json.status_history.map((h: { status: string }) => h.status)).toEqual(expect.arrayContaining(['initiated', 'ringing', 'in-progress', 'completed']));
  expect(done.json.duration_seconds).toBeGreaterThan(0);

  expect((await callTool(client, 'create_ivr_flow', FLOW)).isError).toBe(false);
  expect((await callTool(client, 'set_inbound_call_flow', { flow: 'support' })).isError).toBe(false);
  const rang = await callTool(client, 'simulate_inbound_call', { from: caller, inputs: [{ digits: '1' }] });
  expect(rang.isError, JSON.stringify(rang.json)).toBe(false);
  const walked = await pollUntil(async () => {
    const call = await callTool(client, 'get_call', { sid: rang.json.call_sid });
    return call.json.status === 'completed' && (call.json.ivr_path?.length ?? 0) >= 3 ? call : undefined;
  });
  expect(walked.json.ivr_path.map((e: { step: string; event: string }) => `${e.step}:${e.event}`)).toEqual(['menu:prompt', 'menu:answer', 'billing:prompt']);
  expect(walked.json.ivr_path[1].digits).toBe('1');
  const listed = await callTool(client, 'list_calls', { to: caller });
  expect(listed.json.calls.map((c: { call_sid: string }) => c.call_sid)).toContain(placed.json.call_sid);
}

describe('voice over stdio', () => {
  let server: Connected;
  beforeAll(async () => {
    server = await connectStdio({ args: ['--toolsets', 'all'] });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('places and follows a call, and an inbound caller walks a hosted IVR flow', async () => {
    await exercise(server.client, '+14155550801');
  });
});

describe('voice over Streamable HTTP', () => {
  let server: HttpServerProcess;
  beforeAll(async () => {
    server = await startHttpServer({ args: ['--toolsets', 'all'] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the same, through the HTTP transport (webhooks on the same port)', async () => {
    const client = await connectHttp(server.url);
    try {
      await exercise(client, '+14155550802');
    } finally {
      await client.close();
    }
  });
});
