/**
 * Property-based fuzzing of every tool's input, in-process over an in-memory MCP
 * transport against the sandbox: whatever the arguments, the server never crashes, never
 * answers with a protocol error, and every refusal is an isError result with a message.
 * Fixed seed, bounded runs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/cli/start-app.js';
import { createServer } from '../../src/server/create-server.js';

const SEED = 20261124;
const RUNS_PER_TOOL = 1000;

let app: App;
let client: Client;

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mcp-twilio-fuzz-'));
  app = await startApp({
    forceSandbox: true,
    readOnly: false,
    toolsets: 'all',
    webhookPort: undefined,
    env: { TWILIO_SANDBOX_DELIVERY_MS: '60000', TWILIO_MCP_DATA_DIR: dataDir, TWILIO_MCP_QUIET_HOURS: 'off' },
  });
  const server = createServer({ services: app.services, tools: app.tools.enabled, instructions: app.instructions });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'fuzz', version: '1.0.0' });
  await client.connect(clientSide);
});
afterAll(async () => {
  await client?.close();
  await app?.close();
});

/** Values that stress validation: near-valid phone numbers, SIDs, URLs, huge and odd strings. */
const tricky = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.constantFrom('+15005550006', '+15005550001', '+14155550100', '4155550100', '+', '+1', '', ' ', 'whatsapp:+14155550100', 'whatsapp:'),
  fc.stringMatching(/^\+[0-9]{0,18}$/),
  fc.stringMatching(/^(SM|MM|MG|HX)[0-9a-f]{30,34}$/),
  fc.constantFrom('https://example.com/a.jpg', 'ftp://x', 'javascript:alert(1)', 'http://', '2026-13-45T99:00:00Z', 'tomorrow'),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 12 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
  fc.string({ minLength: 1500, maxLength: 1700 }),
);

describe('every tool survives arbitrary input', () => {
  it('answers every call with a result, never a protocol error', async () => {
    const { tools } = await client.listTools();
    expect(tools.length).toBeGreaterThan(3);
    for (const tool of tools) {
      const keys = Object.keys((tool.inputSchema as { properties?: Record<string, unknown> }).properties ?? {});
      const args = fc.dictionary(fc.constantFrom(...keys, 'unexpected_key'), tricky, { maxKeys: keys.length + 1 });
      // wait_for_reply legitimately waits: keep valid timeouts at one second and run it less.
      const waits = tool.name === 'wait_for_reply';
      await fc.assert(
        fc.asyncProperty(args, async (input) => {
          if (waits && (input.timeout_seconds === undefined || typeof input.timeout_seconds === 'number')) input.timeout_seconds = 1;
          const result = await client.callTool({ name: tool.name, arguments: input });
          const text = (result.content as Array<{ type: string; text?: string }>).find((c) => c.type === 'text')?.text ?? '';
          expect(text.length).toBeGreaterThan(0);
          if (result.isError) expect(text).toMatch(/[a-z]{3,}/i);
          else expect(result.structuredContent).toBeDefined();
        }),
        { seed: SEED, numRuns: waits ? 40 : RUNS_PER_TOOL, endOnFailure: true },
      );
    }
  }, 180_000);
});
