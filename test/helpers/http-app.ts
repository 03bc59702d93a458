/**
 * The real app (startApp, embedded sandbox, real store) served over Streamable HTTP in this
 * process, with a 2026-07-28 client that answers input requests by hand
 * (`inputRequired.autoFulfill: false`): what the confirmation tests (first contact, number
 * purchase) need to send, forge, replay or decline an answer themselves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startApp, type App } from '../../src/cli/start-app.js';
import { createServer } from '../../src/server/create-server.js';
import { startHttp, type HttpHandle } from '../../src/transports/http.js';
import { sandboxOutboundTo } from './in-process.js';

export interface HttpApp {
  app: App;
  http: HttpHandle;
  client: Client;
  /** Resources of `path` (below the account) read from the sandbox's own REST API. */
  sandboxGet<T>(path: string): Promise<T>;
  /** Outgoing messages the sandbox holds for `to`. */
  atSandbox(to: string): Promise<number>;
  close(): Promise<void>;
}

export async function startHttpApp(options: { name: string; toolsets?: string; env: Record<string, string> }): Promise<HttpApp> {
  const dataDir = mkdtempSync(join(tmpdir(), `mcp-twilio-${options.name}-`));
  const app = await startApp({
    forceSandbox: false,
    readOnly: false,
    toolsets: options.toolsets,
    webhookPort: 'shared',
    env: { ...options.env, TWILIO_MCP_DATA_DIR: dataDir },
  });
  const factory = () => createServer({ services: app.services, tools: app.tools.enabled, instructions: app.instructions, events: app.events });
  const http = await startHttp(factory, { host: '127.0.0.1', port: 0, stateless: false, extraRoutes: app.handleWebhook });
  app.setReceiverLocalUrl(http.url.replace(/\/mcp$/, ''));
  const client = new Client(
    { name: options.name, version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { elicitation: {} }, inputRequired: { autoFulfill: false } },
  );
  // A question the test did not answer itself is declined: nothing is confirmed by default.
  client.setRequestHandler('elicitation/create', async () => ({ action: 'decline' }));
  await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));

  const sandboxGet = async <T>(path: string): Promise<T> => {
    const sandbox = await app.sandbox!();
    const auth = `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`;
    return (await (await fetch(`${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}${path}`, { headers: { authorization: auth } })).json()) as T;
  };
  return {
    app,
    http,
    client,
    sandboxGet,
    atSandbox: async (to) => sandboxOutboundTo(await app.sandbox!(), to),
    async close() {
      await client.close();
      await http.close();
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
