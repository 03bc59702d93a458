/**
 * stdout belongs to JSON-RPC in stdio mode. The one library that prints there is the
 * twilio SDK: with `logLevel: 'debug'` in its request options it console.logs every
 * request and response ("-- BEGIN Twilio API Request --"). The gateway pins the level;
 * this sends real messages through the real server with every debug switch a user might
 * set, and fails if anything is written to stdout or the console.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer | undefined;
const saved = { TWILIO_LOG_LEVEL: process.env.TWILIO_LOG_LEVEL, DEBUG: process.env.DEBUG };
beforeEach(() => {
  // The SDK reads TWILIO_LOG_LEVEL from process.env (BaseTwilio.setOpts), not from the env given to startApp.
  process.env.TWILIO_LOG_LEVEL = 'debug';
  process.env.DEBUG = '*';
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await server?.close();
});

it('sending, reading and failing print nothing to stdout, even with TWILIO_LOG_LEVEL=debug', async () => {
  const printed: string[] = [];
  const capture = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
  for (const method of ['log', 'info', 'debug'] as const) vi.spyOn(console, method).mockImplementation(capture);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => (capture(chunk), true)) as typeof process.stdout.write);

  server = await startInProcess({ env: { TWILIO_LOG_LEVEL: 'debug', TWILIO_MCP_LOG_LEVEL: 'debug' } });
  const sent = await server.callTool('send_sms', { to: '+14155550950', body: 'quiet please' });
  expect(sent.isError).toBe(false);
  expect((await server.callTool('get_message', { sid: sent.json.message_sid })).isError).toBe(false);
  expect((await server.callTool('list_messages', { limit: 2 })).isError).toBe(false);
  expect((await server.callTool('send_sms', { to: '+15005550001', body: 'invalid: Twilio answers 400' })).isError).toBe(true);
  // The requests really went to the sandbox (so the SDK had something to print).
  expect(await server.sandboxMessagesTo('+14155550950')).toBe(1);
  expect(printed.filter((line) => /Twilio API Request|response\.statusCode|response\.headers/.test(line))).toEqual([]);
  expect(printed).toEqual([]);
});
