/**
 * Property-based fuzzing of every tool's input, in-process over an in-memory MCP
 * transport against the sandbox: whatever the arguments, the server never crashes, never
 * answers with a protocol error, and every refusal has one of the two shapes an agent can act
 * on: the server's ToolFailure JSON (what went wrong and what to do next; never the
 * "Internal error" fallback), or the SDK's schema refusal naming the tool and the field.
 * Fixed seed, bounded runs.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOutcome, startInProcess, type InProcessServer } from '../helpers/in-process.js';

const SEED = 20261124;
const RUNS_PER_TOOL = 1000;

let server: InProcessServer;

beforeAll(async () => {
  server = await startInProcess({ toolsets: 'all' });
});
afterAll(() => server?.close());

/**
 * The two refusal shapes. A ToolFailure's JSON (src/errors/tool-failure.ts): a non-empty
 * `error` and `next_step`, a numeric `twilio_code` with its `more_info` link when present,
 * and never the fallback for an unexpected exception. Or the SDK's input validation
 * refusal, which names the tool and at least one field.
 */
function expectActionableRefusal(toolName: string, result: { content?: unknown; isError?: unknown; structuredContent?: unknown }): void {
  const { text, json } = parseOutcome(result);
  if (text.startsWith('Input validation error:')) {
    expect(text).toMatch(new RegExp(`^Input validation error: Invalid arguments for tool ${toolName}: \\S+: .+`));
    return;
  }
  const parsed: unknown = JSON.parse(text);
  expect(parsed).toBeTypeOf('object');
  expect(json).toMatchObject({ error: expect.stringMatching(/\S/), next_step: expect.stringMatching(/\S/) });
  expect(json.error).not.toMatch(/^Internal error in /);
  if ('twilio_code' in json) {
    expect(json.twilio_code).toBeTypeOf('number');
    expect(json.more_info).toBe(`https://www.twilio.com/docs/errors/${json.twilio_code}`);
  }
  // A refusal is not a result: no structured content an agent could mistake for one.
  expect(result.structuredContent).toBeUndefined();
}

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
    const { tools } = await server.client.listTools();
    expect(tools.length).toBeGreaterThan(3);
    for (const tool of tools) {
      const keys = Object.keys((tool.inputSchema as { properties?: Record<string, unknown> }).properties ?? {});
      const args = fc.dictionary(fc.constantFrom(...keys, 'unexpected_key'), tricky, { maxKeys: keys.length + 1 });
      // wait_for_reply legitimately waits: keep valid timeouts at one second and run it less.
      const waits = tool.name === 'wait_for_reply';
      await fc.assert(
        fc.asyncProperty(args, async (input) => {
          if (waits && (input.timeout_seconds === undefined || typeof input.timeout_seconds === 'number')) input.timeout_seconds = 1;
          const result = await server.client.callTool({ name: tool.name, arguments: input });
          if (result.isError) {
            expectActionableRefusal(tool.name, result);
          } else {
            // Success: structured content, and the same JSON as text (clients that show only text).
            expect(result.structuredContent).toBeTypeOf('object');
            expect(JSON.parse(parseOutcome(result).text)).toEqual(result.structuredContent);
          }
        }),
        { seed: SEED, numRuns: waits ? 40 : RUNS_PER_TOOL, endOnFailure: true },
      );
    }
  }, 180_000);
});
