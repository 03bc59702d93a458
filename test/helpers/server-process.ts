/**
 * Spawns the BUILT server (dist/cli/main.js) and connects the official MCP client to it,
 * over stdio or Streamable HTTP. Every e2e test talks to the server exactly as a user's
 * client would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

export const SERVER_ENTRY = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** The ambient environment without any TWILIO_* variable, plus the test's own. */
export function serverEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('TWILIO_')) env[key] = value;
  }
  // Every server gets a fresh data directory: tests never touch the user's store.
  const dataDir = mkdtempSync(join(tmpdir(), 'mcp-twilio-test-'));
  // Quiet hours would make results depend on the time of day the suite runs; the policy
  // tests switch them on with a fixed clock.
  return { TWILIO_SANDBOX_DELIVERY_MS: '400', TWILIO_MCP_QUIET_HOURS: 'off', ...env, TWILIO_MCP_DATA_DIR: dataDir, ...extra };
}

export interface Connected {
  client: Client;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  close(): Promise<void>;
}

export async function connectStdio(options: { env?: Record<string, string>; args?: string[] } = {}): Promise<Connected> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER_ENTRY, ...(options.args ?? [])],
    env: serverEnv(options.env),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'e2e-stdio', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr, close: () => client.close() };
}

export interface HttpServerProcess {
  url: string;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `--http --port 0` and waits for the line that names the URL. */
export async function startHttpServer(options: { env?: Record<string, string>; args?: string[]; nodeOptions?: string[] } = {}): Promise<HttpServerProcess> {
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), SERVER_ENTRY, '--http', '--port', '0', ...(options.args ?? [])], {
    env: serverEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}`)), 15_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /MCP Streamable HTTP at (http:\/\/\S+\/mcp)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${stderr}${stdout}`));
    });
  });
  return {
    url,
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function connectHttp(url: string): Promise<Client> {
  const client = new Client({ name: 'e2e-http', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

export interface ToolOutcome {
  isError: boolean;
  json: Record<string, any>;
  structured: Record<string, any> | undefined;
}

/** Calls a tool and parses its text content as JSON (the text and structured content must agree). */
export async function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<ToolOutcome> {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as Array<{ type: string; text?: string }>;
  const text = content.find((c) => c.type === 'text')?.text ?? '';
  let json: Record<string, any>;
  try {
    json = JSON.parse(text);
  } catch {
    json = { error: text };
  }
  return { isError: result.isError === true, json, structured: result.structuredContent as Record<string, any> | undefined };
}

/** Polls until `check` returns a value or the time is up (bounded: tests never loop forever). */
export async function pollUntil<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, everyMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
