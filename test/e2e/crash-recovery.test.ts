/**
 * A server killed (SIGKILL) while Twilio holds its request: the reservation was on disk
 * before the request left, so the next server on the same data directory says so once on
 * stderr, counts it, and refuses the identical send as a possible duplicate. The sandbox
 * runs here (TWILIO_MCP_API_BASE_URL) so the test can hold the request and count what left.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { callTool, SERVER_ENTRY, serverEnv } from '../helpers/server-process.js';

let sandbox: SandboxHandle;
let dataDir: string;
beforeAll(async () => {
  sandbox = await startSandbox();
  dataDir = mkdtempSync(join(tmpdir(), 'mcp-twilio-crash-'));
});
afterAll(async () => {
  await sandbox?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function spawnServer() {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER_ENTRY],
    env: serverEnv({
      TWILIO_ACCOUNT_SID: sandbox.accountSid,
      TWILIO_AUTH_TOKEN: sandbox.authToken,
      TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
      TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
      TWILIO_MCP_DATA_DIR: dataDir,
      TWILIO_TIMEOUT: '60',
    }),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'crash-test', version: '1.0.0' });
  return { transport, client, stderr: () => stderr };
}

/** The messages the sandbox holds for `to`, read over its REST API as a client would. */
async function sandboxMessagesTo(to: string): Promise<unknown[]> {
  const auth = `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`;
  const url = `${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json?To=${encodeURIComponent(to)}`;
  const page = (await (await fetch(url, { headers: { authorization: auth } })).json()) as { messages: unknown[] };
  return page.messages;
}

/** Waits (bounded) until `predicate` holds. */
async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

it('a send in flight when the server was killed is outcome_unknown after the restart, and blocks its duplicate', async () => {
  const to = '+14155550351';
  // Twilio holds the request: the server has reserved, asked, and is waiting for the answer.
  sandbox.injectFault({ method: 'POST', path: /Messages\.json$/, kind: 'hang', times: 1 });
  const first = spawnServer();
  await first.client.connect(first.transport);
  const pending = callTool(first.client, 'send_sms', { to, body: 'interrupted' }).catch(() => undefined);
  // The first server's own audit log shows the send in flight: reserved on disk, request out.
  await until(async () => {
    const audit = await callTool(first.client, 'get_audit_log', { tool: 'send_sms', limit: 1 });
    return audit.json.entries?.[0]?.outcome === 'in_flight';
  }, 'the send to be in flight');
  // The reservation commits before the request leaves, so wait until Twilio (the sandbox)
  // has the request too: the message exists and its answer is held. Killing earlier would
  // race the request out of the process and make the count below depend on timing.
  await until(async () => (await sandboxMessagesTo(to)).length === 1, 'the sandbox to hold the request');
  process.kill(first.transport.pid!, 'SIGKILL');
  await pending;

  const second = spawnServer();
  await second.client.connect(second.transport);
  try {
    await until(() => second.stderr().includes('unknown outcome'), 'the recovery notice on stderr');
    expect(second.stderr()).toMatch(/1 send left in flight by a server that stopped now has an unknown outcome \(#\d+ message to \+14155550351/);
    const again = await callTool(second.client, 'send_sms', { to, body: 'interrupted' });
    expect(again.isError).toBe(true);
    expect(again.json).toMatchObject({ rule: 'duplicate', earlier_state: 'outcome_unknown' });
    const audit = await callTool(second.client, 'get_audit_log', { tool: 'send_sms', limit: 5 });
    expect(audit.json.entries[audit.json.entries.length - 1]).toMatchObject({ outcome: 'outcome_unknown', arguments: { to } });
    // Only the interrupted send reached Twilio; nothing went out in the restarted server's name.
    expect(await sandboxMessagesTo(to)).toHaveLength(1);
  } finally {
    await second.client.close();
  }
});
