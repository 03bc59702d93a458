/**
 * The public surface: the whole tool list as a snapshot (any change shows in review),
 * the annotation rules, and a clean stdout in stdio mode.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStdio, SERVER_ENTRY, serverEnv, type Connected } from '../helpers/server-process.js';

let server: Connected;
beforeAll(async () => {
  server = await connectStdio();
});
afterAll(async () => {
  await server?.close();
});

describe('tool list', () => {
  it('matches the reviewed snapshot', async () => {
    const { tools } = await server.client.listTools();
    await expect(JSON.stringify(tools, null, 2)).toMatchFileSnapshot('./__snapshots__/tools.json');
  });

  it('annotates reads as read-only and sends as open-world, non-idempotent', async () => {
    const { tools } = await server.client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of ['get_message', 'list_messages']) expect(byName.get(name)?.annotations?.readOnlyHint).toBe(true);
    for (const name of ['send_sms', 'send_whatsapp']) {
      expect(byName.get(name)?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true });
      expect(byName.get(name)?.description).toMatch(/irreversible/);
    }
    for (const tool of tools) expect(tool.outputSchema).toBeDefined();
  });

  it('stays small: the whole list costs under 6k tokens (bytes/4; the anchor costs ~79k)', async () => {
    const { tools } = await server.client.listTools();
    expect(JSON.stringify(tools).length / 4).toBeLessThan(6000);
  });
});

describe('stdio hygiene', () => {
  it('writes nothing but JSON-RPC to stdout, even with TWILIO_LOG_LEVEL=debug', async () => {
    const child = spawn(process.execPath, [SERVER_ENTRY], { env: serverEnv({ TWILIO_LOG_LEVEL: 'debug' }), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const write = (msg: object) => child.stdin.write(`${JSON.stringify(msg)}\n`);
    write({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    write({ jsonrpc: '2.0', method: 'notifications/initialized' });
    write({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'send_sms', arguments: { to: '+14155550100', body: 'raw' } } });
    write({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'send_sms', arguments: { to: '+15005550001', body: 'raw' } } });
    const deadline = Date.now() + 15_000;
    while (!/"id":3/.test(stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
    const lines = stdout.split('\n').filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
  });

  it('exits when the client closes stdin', async () => {
    const child = spawn(process.execPath, [SERVER_ENTRY], { env: serverEnv(), stdio: ['pipe', 'ignore', 'ignore'] });
    await new Promise((r) => setTimeout(r, 500));
    child.stdin.end();
    const code = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve('still running'), 5000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    if (code === 'still running') child.kill('SIGKILL');
    expect(code).toBe(0);
  });
});

describe('start-up errors', () => {
  const run = (args: string[], env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [SERVER_ENTRY, ...args], { env: serverEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.once('exit', (code) => resolve({ code, stderr, stdout }));
    });

  it('stops on a bad variable, naming it and the fix, without printing the secret', async () => {
    const secret = 'abcdef0123456789abcdef0123456789';
    const result = await run([], { TWILIO_ACCOUNT_SID: 'AC-nope', TWILIO_AUTH_TOKEN: secret });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/TWILIO_ACCOUNT_SID must be "AC" followed by 32 hex/);
    expect(result.stderr + result.stdout).not.toContain(secret);
    expect(result.stdout).toBe('');
  });

  it('refuses a secret passed as a flag', async () => {
    const result = await run(['--auth-token', 'x'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/environment variables/);
  });
});
