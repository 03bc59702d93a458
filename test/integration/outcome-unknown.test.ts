/**
 * Through MCP: a send whose answer is lost says outcome_unknown and how to check,
 * and the check it suggests finds the message. The server runs against a sandbox in this
 * process (TWILIO_MCP_API_BASE_URL) so the test can inject faults.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { callTool, connectStdio, type Connected } from '../helpers/server-process.js';

let sandbox: SandboxHandle;
let server: Connected;

beforeAll(async () => {
  sandbox = await startSandbox();
  server = await connectStdio({
    env: {
      TWILIO_ACCOUNT_SID: sandbox.accountSid,
      TWILIO_AUTH_TOKEN: sandbox.authToken,
      TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
      TWILIO_MESSAGING_SERVICE_SID: sandbox.messagingServiceSid,
      TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
    },
  });
});
afterAll(async () => {
  await server?.close();
  await sandbox?.close();
});

it('reports outcome_unknown with a way to check, and never double-sends', async () => {
  const to = '+14155550301';
  sandbox.injectFault({ method: 'POST', path: /Messages\.json$/, kind: 'reset-after', times: 1 });
  const result = await callTool(server.client, 'send_sms', { to, body: 'did it go?' });
  expect(result.isError).toBe(true);
  expect(result.json.outcome_unknown).toBe(true);
  expect(result.json.next_step).toContain('list_messages');
  expect(result.json.next_step).toContain(to);

  const check = await callTool(server.client, 'list_messages', { to });
  expect(check.json.messages).toHaveLength(1);
  expect(check.json.messages[0].body).toBe('did it go?');

  // The attempt still counts: the same text at once is refused as a possible duplicate naming it.
  const again = await callTool(server.client, 'send_sms', { to, body: 'did it go?' });
  expect(again.isError).toBe(true);
  expect(again.json).toMatchObject({ rule: 'duplicate', earlier_state: 'outcome_unknown', earlier_attempt: result.json.attempt });
  const audit = await callTool(server.client, 'get_audit_log', { tool: 'send_sms', limit: 5 });
  expect(audit.json.entries.map((e: { outcome?: string }) => e.outcome)).toContain('outcome_unknown');
  // allow_duplicate is the caller's explicit override.
  const forced = await callTool(server.client, 'send_sms', { to, body: 'did it go?', allow_duplicate: true });
  expect(forced.isError).toBe(false);
  expect((await callTool(server.client, 'list_messages', { to })).json.messages).toHaveLength(2);
});

it('never prints the auth token in results or logs', async () => {
  await callTool(server.client, 'send_sms', { to: '+15005550001', body: 'x' });
  expect(server.stderr()).not.toContain(sandbox.authToken);
});
