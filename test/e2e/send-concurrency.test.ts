/**
 * The send pipeline through the real server binary, one MCP session, calls issued at once:
 * the server reaches a sandbox started here, so what left is counted at the sandbox itself
 * (not through the server's own tools). Bounded: 20 and 10 calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { callTool, connectStdio, type Connected } from '../helpers/server-process.js';

let sandbox: SandboxHandle;
beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 5000, sentMs: 10_000, deliveredMs: 20_000 } });
});
afterAll(async () => {
  await sandbox?.close();
});

const serverOn = (extra: Record<string, string>) =>
  connectStdio({
    env: {
      TWILIO_ACCOUNT_SID: sandbox.accountSid,
      TWILIO_AUTH_TOKEN: sandbox.authToken,
      TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
      TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
      ...extra,
    },
  });

async function atSandbox(prefix: string): Promise<number> {
  const auth = `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`;
  const page = (await (await fetch(`${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json?PageSize=1000`, { headers: { authorization: auth } })).json()) as {
    messages: Array<{ to: string }>;
  };
  return page.messages.filter((m) => m.to.startsWith(prefix)).length;
}

describe('concurrent sends through the real server', () => {
  let server: Connected | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it('20 concurrent send_sms against TWILIO_MCP_MAX_MESSAGES_PER_HOUR=3: exactly 3 reach Twilio', async () => {
    server = await serverOn({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '3' });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => callTool(server!.client, 'send_sms', { to: `+1415555${2100 + i}`, body: `cap ${i}` })));
    expect(results.filter((r) => !r.isError)).toHaveLength(3);
    expect(results.filter((r) => r.isError && r.json.rule === 'caps')).toHaveLength(17);
    expect(await atSandbox('+141555521')).toBe(3);
    await server.close();
    server = undefined;
  });

  it('10 identical concurrent sends: exactly 1 reaches Twilio, 9 are refused as duplicates', async () => {
    server = await serverOn({});
    const results = await Promise.all(Array.from({ length: 10 }, () => callTool(server!.client, 'send_sms', { to: '+14155552200', body: 'the same text' })));
    expect(results.filter((r) => !r.isError)).toHaveLength(1);
    expect(results.filter((r) => r.isError && r.json.rule === 'duplicate')).toHaveLength(9);
    expect(await atSandbox('+14155552200')).toBe(1);
  });
});
