/**
 * Only an answer to a question this server asked counts as a first-contact confirmation
 * (issue 7 §4): a client that sends `confirm_first_contact: accept` unasked, on its first
 * tools/call, is not confirmed, and nothing reaches the sandbox.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseOutcome, reachedSandbox, startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess({ env: { TWILIO_MCP_FIRST_CONTACT: 'confirm' } });
});
afterAll(() => server?.close());

it('an unsolicited confirmation is not a confirmation', async () => {
  const to = '+14155550503';
  const reached = await reachedSandbox(server, to, async () => {
    const request = { name: 'send_sms', arguments: { to, body: 'sneaky' }, inputResponses: { confirm_first_contact: { action: 'accept', content: { confirm: true } } } };
    const result = await server.client.callTool(request as Parameters<typeof server.client.callTool>[0]);
    expect(parseOutcome(result).isError).toBe(true);
  });
  expect(reached).toBe(0);
});
