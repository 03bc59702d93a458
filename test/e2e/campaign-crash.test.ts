/**
 * A 2,000-recipient campaign, the server killed with SIGKILL at seeded random moments and
 * restarted on the same data directory, against a sandbox run apart (so it outlives every
 * server and counts what each recipient received). With a fault mix on top: 10% 429, 2% 5xx,
 * 1% resets after the message was created. Every eligible recipient ends with exactly one
 * message; the opted-out, the invalid and the duplicate rows with none.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { callTool, SERVER_ENTRY, serverEnv } from '../helpers/server-process.js';

const RECIPIENTS = 2000;
let sandbox: SandboxHandle;
let dir: string;
beforeAll(async () => {
  sandbox = await startSandbox({ chaos: { rate429: 0.1, rate5xx: 0.02, rateResetAfter: 0.01, retryAfterSeconds: 1, seed: 7 } });
  dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-campaign-crash-'));
});
afterAll(async () => {
  await sandbox?.close();
  rmSync(dir, { recursive: true, force: true });
});

function spawnServer() {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER_ENTRY, '--toolsets', 'campaigns,inbox'],
    env: serverEnv({
      TWILIO_ACCOUNT_SID: sandbox.accountSid,
      TWILIO_AUTH_TOKEN: sandbox.authToken,
      TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
      TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
      TWILIO_MCP_DATA_DIR: join(dir, 'data'),
      TWILIO_MCP_FILES_DIR: dir,
      TWILIO_MCP_QUIET_HOURS: 'off',
      TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '100000',
      TWILIO_MCP_MAX_MESSAGES_PER_DAY: '100000',
      TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '100000',
      TWILIO_TIMEOUT: '5',
    }),
    stderr: 'pipe',
  });
  return { transport, client: new Client({ name: 'campaign-crash', version: '1.0.0' }) };
}

/** A seeded generator for the kill moments (mulberry32), so a failure replays. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

it('SIGKILL at seeded moments and a fault mix: every eligible recipient gets exactly one message', async () => {
  const number = (i: number) => `+1415${String(5_000_000 + i).padStart(7, '0')}`;
  const rows = ['to,name'];
  for (let i = 0; i < RECIPIENTS; i++) rows.push(`${number(i)},Person ${i}`);
  rows.push(`${number(0)},Duplicate of 0`, 'not a number,Nobody');
  const file = join(dir, 'recipients.csv');
  writeFileSync(file, `${rows.join('\n')}\n`);
  const optedOut = [number(10), number(20)];

  let server = spawnServer();
  await server.client.connect(server.transport);
  for (const recipient of optedOut) await callTool(server.client, 'add_opt_out', { recipient, channel: 'sms' });
  const started = await callTool(server.client, 'start_campaign', { name: 'crash', template: 'Hello {{name}}', recipients_file: file, rate_per_second: 0 });
  expect(started.isError, JSON.stringify(started.json)).toBe(false);
  const id = started.json.campaign_id as string;

  const random = seeded(42);
  for (let kill = 0; kill < 3; kill++) {
    await new Promise((resolve) => setTimeout(resolve, 200 + random() * 800));
    process.kill(server.transport.pid!, 'SIGKILL');
    await server.client.close().catch(() => {});
    server = spawnServer();
    await server.client.connect(server.transport);
  }
  let state = '';
  let counts: Record<string, number> = {};
  const deadline = Date.now() + 120_000;
  while (state !== 'completed' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const got = await callTool(server.client, 'get_campaign', { campaign_id: id });
    state = got.json.state;
    counts = got.json.counts;
  }
  await server.client.close();
  expect(state).toBe('completed');
  expect(counts).toMatchObject({ sent: RECIPIENTS - optedOut.length, skipped_opt_out: 2, duplicate: 1, invalid: 1 });
  const received = sandbox.messageCounts();
  const wrong: string[] = [];
  for (let i = 0; i < RECIPIENTS; i++) {
    const expected = optedOut.includes(number(i)) ? 0 : 1;
    if ((received.get(number(i)) ?? 0) !== expected) wrong.push(`${number(i)}: ${received.get(number(i)) ?? 0}`);
  }
  expect(wrong).toEqual([]);
}, 180_000);
