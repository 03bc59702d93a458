/**
 * The REAL server, in this process: `startApp` (the composition root) with the embedded
 * sandbox and a real SQLite store in a temp data dir, `createServer` with the app's
 * services, tools and events (as src/cli/main.ts wires them), and the official MCP client
 * over an in-memory transport.
 *
 * Why in-process: Stryker mutates `src` inside the vitest process, so only tests that run
 * the source here can kill a mutant (a spawned dist/ binary never sees one). Keep the
 * spawned-binary e2e tests for what needs a process (restart, stdio, flags).
 *
 * Counting what reached the emulator goes to the sandbox's own REST API through the App's
 * sandbox handle, never through the server's tools: a refusal test must not trust the
 * code under test to report what it sent.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { afterEach } from 'vitest';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { startApp, type App } from '../../src/cli/start-app.js';
import { createServer } from '../../src/server/create-server.js';
import type { SandboxHandle } from '../../src/sandbox/index.js';

export interface ToolOutcome {
  isError: boolean;
  /** The text content parsed as JSON ({ error: text } when it is not JSON). */
  json: Record<string, any>;
  structured: Record<string, any> | undefined;
  text: string;
}

export interface InProcessOptions {
  /** Added to the defaults below (TWILIO_MCP_QUIET_HOURS off, slow delivery); never process.env. */
  env?: Record<string, string>;
  readOnly?: boolean;
  toolsets?: string;
  policyFile?: string;
  /** Reuse a data dir (a restart by hand); default: a fresh temp dir. */
  dataDir?: string;
  /** Client capabilities, e.g. { elicitation: {} } (default: none). */
  capabilities?: Record<string, unknown>;
}

export interface InProcessServer {
  readonly app: App;
  readonly client: Client;
  readonly dataDir: string;
  callTool(name: string, args?: Record<string, unknown>): Promise<ToolOutcome>;
  /** Outgoing messages the embedded sandbox accepted for `number` (SMS and whatsapp: forms), since this app started. */
  sandboxMessagesTo(number: string): Promise<number>;
  /** Calls the embedded sandbox accepted to `number` (outbound), since this app started: read from its own REST API. */
  sandboxCallsTo(number: string): Promise<number>;
  sandbox(): Promise<SandboxHandle>;
  /** Closes client and app, then starts both again on the same data dir (the sandbox starts afresh: its counts restart at 0). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Delivery is slowed so no status callback races a test; quiet hours off unless a test sets them. */
const BASE_ENV = { TWILIO_SANDBOX_DELIVERY_MS: '60000', TWILIO_MCP_QUIET_HOURS: 'off' } as const;

async function boot(options: InProcessOptions, dataDir: string): Promise<{ app: App; client: Client }> {
  const app = await startApp({
    forceSandbox: false,
    readOnly: options.readOnly ?? false,
    toolsets: options.toolsets,
    webhookPort: undefined,
    policyFile: options.policyFile,
    env: { ...BASE_ENV, ...options.env, TWILIO_MCP_DATA_DIR: dataDir },
  });
  if (app.mode !== 'sandbox' || !app.sandbox) throw new Error('in-process harness expects sandbox mode (no TWILIO credentials in env)');
  return { app, client: await connectInMemory(app, { name: 'in-process-test', capabilities: options.capabilities }) };
}

/**
 * The official MCP client, connected over an in-memory transport to a server made from
 * `app` as src/cli/main.ts makes it (services, tools, instructions, events, the policy's
 * first-contact fallback). For tests that start their app their own way.
 */
export async function connectInMemory(app: App, options: { name: string; capabilities?: Record<string, unknown> }): Promise<Client> {
  const server = createServer({
    services: app.services,
    tools: app.tools.enabled,
    instructions: app.instructions,
    events: app.events,
    firstContactWithoutElicitation: app.policy.firstContactWithoutElicitation,
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: options.name, version: '1.0.0' }, { capabilities: options.capabilities ?? {} });
  await client.connect(clientSide);
  return client;
}

export function parseOutcome(result: { content?: unknown; isError?: unknown; structuredContent?: unknown }): ToolOutcome {
  const content = (result.content ?? []) as Array<{ type: string; text?: string }>;
  const text = content.find((c) => c.type === 'text')?.text ?? '';
  let json: Record<string, any>;
  try {
    const parsed: unknown = JSON.parse(text);
    json = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, any>) : { error: text };
  } catch {
    json = { error: text };
  }
  return { isError: result.isError === true, json, structured: result.structuredContent as Record<string, any> | undefined, text };
}

/**
 * Outgoing messages a sandbox holds for `to`, read from its own REST API as any client
 * would: what a refusal test compares before and after.
 */
export async function sandboxOutboundTo(handle: SandboxHandle, to: string): Promise<number> {
  const url = `${handle.baseUrl}/2010-04-01/Accounts/${handle.accountSid}/Messages.json?${new URLSearchParams({ To: to, PageSize: '1000' })}`;
  const response = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${handle.accountSid}:${handle.authToken}`).toString('base64')}` } });
  if (!response.ok) throw new Error(`sandbox list failed: ${response.status} ${await response.text()}`);
  const page = (await response.json()) as { messages: Array<{ direction: string }>; next_page_uri: string | null };
  if (page.next_page_uri) throw new Error('more than 1000 messages to one number: the harness counts one page');
  return page.messages.filter((m) => m.direction !== 'inbound').length;
}

export async function startInProcess(options: InProcessOptions = {}): Promise<InProcessServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'mcp-twilio-inproc-'));
  let current = await boot(options, dataDir);

  const sandbox = () => current.app.sandbox!();
  const countTo = async (to: string): Promise<number> => sandboxOutboundTo(await sandbox(), to);

  const callsTo = async (to: string): Promise<number> => {
    const handle = await sandbox();
    const url = `${handle.baseUrl}/2010-04-01/Accounts/${handle.accountSid}/Calls.json?${new URLSearchParams({ To: to, PageSize: '1000' })}`;
    const response = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${handle.accountSid}:${handle.authToken}`).toString('base64')}` } });
    if (!response.ok) throw new Error(`sandbox call list failed: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as { calls: Array<{ direction: string }>; next_page_uri: string | null };
    if (page.next_page_uri) throw new Error('more than 1000 calls to one number: the harness counts one page');
    return page.calls.filter((c) => c.direction !== 'inbound').length;
  };

  return {
    get app() {
      return current.app;
    },
    sandboxCallsTo: callsTo,
    get client() {
      return current.client;
    },
    dataDir,
    callTool: async (name, args = {}) => parseOutcome(await current.client.callTool({ name, arguments: args })),
    sandboxMessagesTo: async (number) => {
      const bare = number.replace(/^whatsapp:/i, '');
      const [sms, whatsapp] = await Promise.all([countTo(bare), countTo(`whatsapp:${bare}`)]);
      return sms + whatsapp;
    },
    sandbox,
    restart: async () => {
      await current.client.close();
      await current.app.close();
      current = await boot(options, dataDir);
    },
    close: async () => {
      await current.client.close().catch(() => {});
      await current.app.close();
    },
  };
}

/**
 * Runs `action` and returns how many messages reached the sandbox for `number` meanwhile:
 * the one number a refusal test must see unchanged.
 */
export async function reachedSandbox(server: InProcessServer, number: string, action: () => Promise<unknown>): Promise<number> {
  const before = await server.sandboxMessagesTo(number);
  await action();
  return (await server.sandboxMessagesTo(number)) - before;
}

/** The same for calls: how many calls to `number` reached the sandbox while `action` ran. */
export async function callsReachingSandbox(server: InProcessServer, number: string, action: () => Promise<unknown>): Promise<number> {
  const before = await server.sandboxCallsTo(number);
  await action();
  return (await server.sandboxCallsTo(number)) - before;
}

/** A quiet-hours window around `now` in `timeZone` ("HH:MM-HH:MM"), so the recipient is inside it whenever the test runs. */
export function quietWindowAround(now: Date, timeZone: string, marginMinutes = 60): string {
  const local = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(now);
  const minutes = Number(local.slice(0, 2)) * 60 + Number(local.slice(3, 5));
  const day = 24 * 60;
  const at = (m: number) => {
    const wrapped = ((m % day) + day) % day;
    return `${String(Math.floor(wrapped / 60)).padStart(2, '0')}:${String(wrapped % 60).padStart(2, '0')}`;
  };
  return `${at(minutes - marginMinutes)}-${at(minutes + marginMinutes)}`;
}

/** A window that excludes `now` (the other half of the day), to prove quiet hours are not simply always on. */
export function quietWindowAwayFrom(now: Date, timeZone: string): string {
  const around = quietWindowAround(now, timeZone, 60);
  const [start, end] = around.split('-') as [string, string];
  return `${end}-${start}`;
}

/**
 * A fresh app for each test, closed after it (caps and policies are per app): call once at
 * the top of a test file, then `await start({ TWILIO_MCP_… })` inside each test.
 */
export function appPerTest(): (env?: Record<string, string>, options?: Omit<InProcessOptions, 'env'>) => Promise<InProcessServer> {
  const opened: InProcessServer[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  return async (env = {}, options = {}) => {
    const server = await startInProcess({ ...options, env });
    opened.push(server);
    return server;
  };
}
