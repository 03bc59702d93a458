/**
 * Send and spend caps through the real server. A cap is global to the app, so each cap
 * has an app of its own; recipients are distinct so the duplicate rule never answers first.
 */
import { describe, expect, it } from 'vitest';
import { reachedSandbox, appPerTest, type InProcessServer } from '../helpers/in-process.js';

const start = appPerTest();

/** Sends one SMS per recipient, in order, and returns the results. */
async function sendEach(server: InProcessServer, recipients: string[]) {
  const results = [];
  for (const to of recipients) results.push(await server.callTool('send_sms', { to, body: `hello ${to}` }));
  return results;
}

describe('caps', () => {
  it('the hourly message cap refuses the send after the limit, and it never reaches the sandbox', async () => {
    const server = await start({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '3' });
    const allowed = await sendEach(server, ['+14155550400', '+14155550401', '+14155550402']);
    expect(allowed.map((r) => r.isError)).toEqual([false, false, false]);
    const to = '+14155550403';
    const reached = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_sms', { to, body: 'one too many' });
      expect(result.isError).toBe(true);
      expect(result.json).toMatchObject({ rule: 'caps', cap: 'messages_per_hour', used: 3, limit: 3, resets_at: expect.any(String) });
    });
    expect(reached).toBe(0);
  });

  it('the daily message cap refuses the send after the limit', async () => {
    const server = await start({ TWILIO_MCP_MAX_MESSAGES_PER_DAY: '2' });
    expect((await sendEach(server, ['+14155550410', '+14155550411'])).map((r) => r.isError)).toEqual([false, false]);
    const to = '+14155550412';
    const reached = await reachedSandbox(server, to, async () => {
      expect((await server.callTool('send_sms', { to, body: 'over the day' })).json).toMatchObject({ rule: 'caps', cap: 'messages_per_day', used: 2, limit: 2 });
    });
    expect(reached).toBe(0);
  });

  it('a cap of 0 sends nothing at all', async () => {
    const server = await start({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '0' });
    const to = '+14155550415';
    const reached = await reachedSandbox(server, to, async () => {
      expect((await server.callTool('send_sms', { to, body: 'none' })).json.rule).toBe('caps');
    });
    expect(reached).toBe(0);
  });

  it('the daily spend cap refuses the send whose estimate would cross it', async () => {
    // US SMS estimate: $0.0083 a segment. Two fit under $0.02; the third would make $0.0249.
    const server = await start({ TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '0.02' });
    expect((await sendEach(server, ['+14155550420', '+14155550421'])).map((r) => r.isError)).toEqual([false, false]);
    const to = '+14155550422';
    const reached = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_sms', { to, body: 'too expensive' });
      expect(result.isError).toBe(true);
      expect(result.json).toMatchObject({ rule: 'caps', cap: 'spend_per_day_usd', limit_usd: 0.02 });
    });
    expect(reached).toBe(0);
  });

  it('caps count sends made before a restart (the ledger is on disk)', async () => {
    const server = await start({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '2' });
    expect((await sendEach(server, ['+14155550430', '+14155550431'])).map((r) => r.isError)).toEqual([false, false]);
    await server.restart();
    const to = '+14155550432';
    const reached = await reachedSandbox(server, to, async () => {
      expect((await server.callTool('send_sms', { to, body: 'after restart' })).json).toMatchObject({ rule: 'caps', used: 2 });
    });
    expect(reached).toBe(0);
  });

  it('a refused send does not count against the cap', async () => {
    const server = await start({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '1', TWILIO_MCP_DENY_NUMBERS: '+14155550449' });
    expect((await server.callTool('send_sms', { to: '+14155550449', body: 'denied' })).json.rule).toBe('deny_numbers');
    expect(await reachedSandbox(server, '+14155550440', () => server.callTool('send_sms', { to: '+14155550440', body: 'the one' }))).toBe(1);
  });
});
