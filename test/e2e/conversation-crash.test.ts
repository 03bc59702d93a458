/**
 * kill -9 in the middle of a live phone conversation: every turn said before the kill is
 * on disk (written as it happened), and the next server ends the session cleanly and keeps
 * the transcript.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, expect, it } from 'vitest';
import { openStoreInDir } from '../../src/store/sqlite-store.js';
import { callTool, SERVER_ENTRY, serverEnv } from '../helpers/server-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'mcp-twilio-relay-crash-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function spawnServer() {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER_ENTRY, '--toolsets', 'voice'],
    env: serverEnv({ TWILIO_MCP_DATA_DIR: dataDir }),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { transport, client: new Client({ name: 'relay-crash', version: '1.0.0' }), stderr: () => stderr };
}

it('the transcript up to the last turn survives kill -9, and the restarted server ends the session', async () => {
  const to = '+14155550945';
  const first = spawnServer();
  await first.client.connect(first.transport);
  await callTool(first.client, 'script_caller', { to, turns: [{ say: 'First question' }, { say: 'Second question' }, { hangup: true }] });
  const started = await callTool(first.client, 'start_voice_conversation', { to, greeting: 'Hello', purpose: 'crash test' });
  const callSid = started.json.call_sid as string;
  expect((await callTool(first.client, 'wait_for_caller', { call_sid: callSid, timeout_seconds: 15 })).json.turn.text).toBe('First question');
  await callTool(first.client, 'say_on_call', { call_sid: callSid, text: 'First answer' });
  expect((await callTool(first.client, 'wait_for_caller', { call_sid: callSid, timeout_seconds: 15 })).json.turn.text).toBe('Second question');
  process.kill(first.transport.pid!, 'SIGKILL');
  await first.client.close().catch(() => {});

  const second = spawnServer();
  await second.client.connect(second.transport);
  try {
    const deadline = Date.now() + 10_000;
    while (!second.stderr().includes('live phone conversation') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(second.stderr()).toMatch(/1 live phone conversation\(s\) ended with the previous server/);
  } finally {
    await second.client.close();
  }
  const store = openStoreInDir(dataDir);
  try {
    const session = (await store.findRelaySessionByCall(callSid))!;
    expect(session).toMatchObject({ purpose: 'crash test', outcome: 'server_restarted' });
    expect((await store.listTranscript(session.sessionId)).filter((t) => t.speaker !== 'server').map((t) => `${t.speaker}:${t.text}`)).toEqual([
      'agent:Hello',
      'caller:First question',
      'agent:First answer',
      'caller:Second question',
    ]);
  } finally {
    await store.close();
  }
});
