/**
 * libphonenumber's metadata stays out of cold start: the built server answers
 * initialize and tools/list (whose schemas include the phone-address type) without
 * loading it, and loads it on the first phone address it validates. Spawns dist/.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { SERVER_ENTRY, serverEnv } from '../helpers/server-process.js';

const TRACE = fileURLToPath(new URL('./fixtures/trace-libphonenumber.mjs', import.meta.url));

it('loads libphonenumber on the first phone address, not at start-up', async () => {
  const child = spawn(process.execPath, ['--import', TRACE, SERVER_ENTRY], { env: serverEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const write = (msg: object) => child.stdin.write(`${JSON.stringify(msg)}\n`);
  const answered = async (id: number) => {
    const deadline = Date.now() + 20_000;
    while (!stdout.includes(`"id":${id},`) && !stdout.includes(`"id":${id}}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(stdout).toContain(`"id":${id}`);
  };
  try {
    write({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'cold', version: '1' } } });
    write({ jsonrpc: '2.0', method: 'notifications/initialized' });
    write({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    await answered(2);
    expect(stdout).toContain('"list_opt_outs"');
    expect(stderr).not.toContain('LOADED');

    write({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_opt_outs', arguments: { recipient: '+1 415 555 0142' } } });
    await answered(3);
    expect(stderr).toMatch(/LOADED .*libphonenumber-js/);
  } finally {
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
  }
});
