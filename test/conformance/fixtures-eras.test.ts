/**
 * The conformance fixtures on the built server, beyond what the (2025-era) suite covers:
 * sampling and elicitation for 2026-07-28 clients (input_required, so they work even with
 * --stateless), and test://watched-resource updates reaching a 2025-era subscriber over an
 * HTTP session and a 2026-07-28 listener over stdio.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil, SERVER_ENTRY, serverEnv, startHttpServer, type HttpServerProcess } from '../helpers/server-process.js';

const FIXTURES = { MCP_CONFORMANCE_FIXTURES: '1' };
const WATCHED = 'test://watched-resource';
const MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;

const textOf = (result: { content?: unknown }) => ((result.content as Array<{ type: string; text?: string }>)[0]?.text ?? '');

/** A 2026-07-28 client that answers sampling and elicitation, recording what it was asked. */
async function modernClient(url: string, elicitAnswer: 'accept' | 'decline' = 'accept') {
  const asked: Array<{ method: string; params: any }> = [];
  const client = new Client({ name: 'modern-fixtures', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} }, ...MODERN });
  client.setRequestHandler('sampling/createMessage', async (request) => {
    asked.push({ method: request.method, params: request.params });
    return { role: 'assistant', content: { type: 'text', text: 'sampled text' }, model: 'test-model', stopReason: 'endTurn' };
  });
  client.setRequestHandler('elicitation/create', async (request) => {
    asked.push({ method: request.method, params: request.params });
    return elicitAnswer === 'accept' ? { action: 'accept', content: { username: 'ada', email: 'ada@example.com' } } : { action: 'decline' };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
  return { client, asked };
}

describe.each([
  { mode: 'sessions', args: [] as string[] },
  { mode: '--stateless', args: ['--stateless'] },
])('2026-07-28 client over HTTP ($mode): server-to-client input as input_required', ({ args }) => {
  let server: HttpServerProcess;
  beforeAll(async () => {
    server = await startHttpServer({ env: FIXTURES, args });
  });
  afterAll(() => server.stop());

  it('test_sampling asks for a completion and returns it', async () => {
    const { client, asked } = await modernClient(server.url);
    try {
      const result = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'Say hi' } });
      expect(textOf(result)).toBe('LLM response: sampled text');
      expect(asked).toEqual([{ method: 'sampling/createMessage', params: expect.objectContaining({ maxTokens: 100, messages: [{ role: 'user', content: { type: 'text', text: 'Say hi' } }] }) }]);
    } finally {
      await client.close();
    }
  });

  it('test_elicitation reports an accepted and a declined form', async () => {
    const accepting = await modernClient(server.url, 'accept');
    const declining = await modernClient(server.url, 'decline');
    try {
      const accepted = await accepting.client.callTool({ name: 'test_elicitation', arguments: { message: 'Who are you?' } });
      expect(textOf(accepted)).toBe('User response: action=accept, content={"username":"ada","email":"ada@example.com"}');
      expect(accepting.asked[0]?.params).toMatchObject({ mode: 'form', message: 'Who are you?', requestedSchema: { required: ['username', 'email'] } });
      const declined = await declining.client.callTool({ name: 'test_elicitation', arguments: { message: 'Who are you?' } });
      expect(textOf(declined)).toBe('User response: action=decline, content={}');
    } finally {
      await accepting.client.close();
      await declining.client.close();
    }
  });

  it('the SEP-1034 and SEP-1330 forms reach the client unchanged', async () => {
    const { client, asked } = await modernClient(server.url);
    try {
      await client.callTool({ name: 'test_elicitation_sep1034_defaults', arguments: {} });
      await client.callTool({ name: 'test_elicitation_sep1330_enums', arguments: {} });
      const [defaults, enums] = asked.map((a) => a.params.requestedSchema.properties);
      expect(defaults).toMatchObject({ name: { default: 'John Doe' }, age: { type: 'integer', default: 30 }, score: { default: 95.5 }, status: { default: 'active' }, verified: { default: true } });
      expect(enums.legacyEnum).toMatchObject({ enumNames: ['Option One', 'Option Two', 'Option Three'] });
      expect(enums.titledSingle.oneOf).toHaveLength(3);
      expect(enums.titledMulti.items.anyOf).toHaveLength(3);
    } finally {
      await client.close();
    }
  });
});

describe('test://watched-resource updates', () => {
  it('reach a 2025-era subscriber over an HTTP session, and stop after unsubscribe', async () => {
    const server = await startHttpServer({ env: FIXTURES });
    const client = new V1Client({ name: 'v1-subscriber', version: '1.0.0' });
    try {
      await client.connect(new V1StreamableHTTPClientTransport(new URL(server.url)));
      const updates: string[] = [];
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
      await client.subscribeResource({ uri: WATCHED });
      await pollUntil(async () => (updates.length > 0 ? true : undefined), 5_000, 100);
      expect(new Set(updates)).toEqual(new Set([WATCHED]));
      await client.unsubscribeResource({ uri: WATCHED });
      const seen = updates.length;
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      // At most one tick may have been in flight when the unsubscribe arrived.
      expect(updates.length).toBeLessThanOrEqual(seen + 1);
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it('reach a 2026-07-28 listener over stdio', async () => {
    const client = new Client({ name: 'modern-listener', version: '1.0.0' }, MODERN);
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [SERVER_ENTRY], env: serverEnv(FIXTURES), stderr: 'ignore' }));
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      const updates: string[] = [];
      client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
      const subscription = await client.listen({ resourceSubscriptions: [WATCHED] });
      expect(subscription.honoredFilter).toEqual({ resourceSubscriptions: [WATCHED] });
      await pollUntil(async () => (updates.length > 0 ? true : undefined), 5_000, 100);
      expect(new Set(updates)).toEqual(new Set([WATCHED]));
      await subscription.close();
    } finally {
      await client.close();
    }
  });
});
