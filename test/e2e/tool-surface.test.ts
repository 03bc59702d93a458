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

describe('tool list with --toolsets all', () => {
  let all: Connected;
  beforeAll(async () => {
    all = await connectStdio({ args: ['--toolsets', 'all'] });
  });
  afterAll(async () => {
    await all?.close();
  });

  it('matches the reviewed snapshot (every toolset, the sandbox-only tools included)', async () => {
    const { tools } = await all.client.listTools();
    await expect(JSON.stringify(tools, null, 2)).toMatchFileSnapshot('./__snapshots__/tools-all.json');
  });

  it('every toolset together stays under 24k tokens, under a third of what the anchor costs for one API family', async () => {
    const { tools } = await all.client.listTools();
    expect(JSON.stringify(tools).length / 4).toBeLessThan(24_000);
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.get('make_call')?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, openWorldHint: true });
    expect(byName.get('make_call')?.description).toMatch(/billed per minute/);
    expect(byName.get('delete_recording')?.annotations?.destructiveHint).toBe(true);
  });
});

describe('stdio hygiene', () => {
  // The leak path: the twilio SDK console.logs every request and response when `logLevel:
  // 'debug'` reaches its request options (twilio 6.2.0 reads TWILIO_LOG_LEVEL into a field
  // its requests never use, so the variable alone cannot turn it on; the gateway pins the
  // option). The control below proves the marker is what a leak looks like; the server run
  // fails if the SDK ever prints, e.g. with the gateway's level set to 'debug'.
  it('writes nothing but JSON-RPC to stdout with every debug switch on, though the SDK would print there', async () => {
    const sdkMarker = /-- BEGIN Twilio API Request --|response\.statusCode:/;
    const { startSandbox } = await import('../../src/sandbox/index.js');
    const sandbox = await startSandbox();
    try {
      const script = [
        "const { default: twilio } = await import('twilio');",
        'const [base, sid, token] = process.argv.slice(1);',
        'class Rewrite extends twilio.RequestClient { request(o) { const u = new URL(o.uri); return super.request({ ...o, uri: base + u.pathname + u.search }); } }',
        "const client = twilio(sid, token, { httpClient: new Rewrite(), logLevel: 'debug' });",
        "await client.messages.create({ from: '+15005550006', to: '+14155550100', body: 'control' });",
      ].join('\n');
      // Asynchronous: the sandbox answering it runs in this process's event loop.
      const control = spawn(process.execPath, ['--input-type=module', '-e', script, sandbox.baseUrl, sandbox.accountSid, sandbox.authToken], { stdio: ['ignore', 'pipe', 'pipe'] });
      let controlOut = '';
      control.stdout.on('data', (c: Buffer) => (controlOut += c.toString()));
      const code = await new Promise((resolve) => control.once('exit', resolve));
      expect(code).toBe(0);
      expect(controlOut).toMatch(sdkMarker);
    } finally {
      await sandbox.close();
    }

    const child = spawn(process.execPath, [SERVER_ENTRY], {
      env: serverEnv({ TWILIO_LOG_LEVEL: 'debug', TWILIO_MCP_LOG_LEVEL: 'debug', DEBUG: '*' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // Resolves when every request (ids 1-4, answered in any order) has its answer: waiting on the output, not a timer.
    const answeredIds = () => new Set(stdout.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l).id; } catch { return undefined; } }));
    const answered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not every request answered within 15 s:\n${stdout}\n${stderr}`)), 15_000);
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        if ([1, 2, 3, 4].every((id) => answeredIds().has(id))) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const write = (msg: object) => child.stdin.write(`${JSON.stringify(msg)}\n`);
    write({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    write({ jsonrpc: '2.0', method: 'notifications/initialized' });
    write({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'send_sms', arguments: { to: '+14155550100', body: 'raw' } } });
    write({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'send_sms', arguments: { to: '+15005550001', body: 'raw' } } });
    write({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'list_messages', arguments: { limit: 2 } } });
    try {
      await answered;
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      await exited;
    }
    const lines = stdout.split('\n').filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    expect(stdout).not.toMatch(sdkMarker);
    // The send really reached the sandbox (the SDK made requests it could have printed).
    expect(lines.map((l) => JSON.parse(l)).find((m) => m.id === 2)?.result?.isError).not.toBe(true);
    // The server's own debug lines went to stderr.
    expect(stderr).toMatch(/\] debug: /);
  });

  it('exits when the client closes stdin', async () => {
    const child = spawn(process.execPath, [SERVER_ENTRY], { env: serverEnv(), stdio: ['pipe', 'pipe', 'ignore'] });
    // Ready once it answers initialize (not after a guessed delay); then the client goes away.
    const answered = new Promise((resolve) => child.stdout.once('data', resolve));
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } })}\n`);
    await answered;
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
