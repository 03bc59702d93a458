/**
 * First-contact confirmation on the 2026-07-28 HTTP path, through the real server: the
 * tool answers `input_required` (an elicitation), the v2 client answers it and retries in
 * the same callTool. Confirm → the message reaches the sandbox; decline → nothing does.
 * Counted with list_messages, not only from the error text.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, startHttpServer, type HttpServerProcess } from '../helpers/server-process.js';

const MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;
let server: HttpServerProcess;
beforeAll(async () => {
  server = await startHttpServer({ env: { TWILIO_MCP_FIRST_CONTACT: 'confirm' } });
});
afterAll(async () => {
  await server?.stop();
});

/** A v2 client that answers every elicitation with `answer`, counting the questions. */
async function connect(answer: 'accept' | 'decline') {
  const questions: string[] = [];
  const client = new Client({ name: `confirm-${answer}`, version: '1.0.0' }, { ...MODERN, capabilities: { elicitation: {} } });
  client.setRequestHandler('elicitation/create', async (request) => {
    questions.push(String((request.params as { message?: string }).message));
    return answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
  return { client, questions };
}

const sentTo = async (client: Client, to: string) => (await callTool(client, 'list_messages', { to, limit: 20 })).json.messages as unknown[];

describe('first contact over HTTP, 2026-07-28 client', () => {
  it('asks through input_required and sends once the user confirms', async () => {
    const to = '+14155550920';
    const { client, questions } = await connect('accept');
    try {
      expect(await sentTo(client, to)).toHaveLength(0);
      const result = await callTool(client, 'send_sms', { to, body: 'first hello' });
      expect(result.isError).toBe(false);
      expect(result.json.status).toBe('queued');
      expect(questions).toHaveLength(1);
      expect(questions[0]).toContain(to);
      expect(await sentTo(client, to)).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('sends nothing when the user declines', async () => {
    const to = '+14155550921';
    const { client, questions } = await connect('decline');
    try {
      expect(await sentTo(client, to)).toHaveLength(0);
      const result = await callTool(client, 'send_sms', { to, body: 'first hello' });
      expect(result.isError).toBe(true);
      expect(result.json.error).toMatch(/did not confirm/);
      expect(questions).toHaveLength(1);
      expect(await sentTo(client, to)).toHaveLength(0);
    } finally {
      await client.close();
    }
  });
});
