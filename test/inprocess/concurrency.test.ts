/**
 * Concurrent sends against one cap or one duplicate window (bounded: 20 and 10 calls,
 * one MCP session, Promise.all). Issue 7 §1: the decision and the reservation must be one
 * transaction; with check-then-record around the Twilio call, all of them get through.
 */
import { describe, expect, it } from 'vitest';
import { appPerTest, type InProcessServer } from '../helpers/in-process.js';

const start = appPerTest();

async function reachedAll(server: InProcessServer, recipients: string[]): Promise<number> {
  const counts = await Promise.all([...new Set(recipients)].map((to) => server.sandboxMessagesTo(to)));
  return counts.reduce((a, b) => a + b, 0);
}

describe('concurrent sends', () => {
  it('20 at once against an hourly cap of 3: exactly 3 reach the sandbox, 17 are refused by the cap', async () => {
    const server = await start({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '3' });
    const recipients = Array.from({ length: 20 }, (_, i) => `+1415555${String(800 + i).padStart(4, '0')}`);
    const results = await Promise.all(recipients.map((to) => server.callTool('send_sms', { to, body: `burst ${to}` })));
    expect(await reachedAll(server, recipients)).toBe(3);
    expect(results.filter((r) => !r.isError)).toHaveLength(3);
    expect(results.filter((r) => r.json.rule === 'caps')).toHaveLength(17);
  });

  it('10 identical sends at once: exactly 1 reaches the sandbox, 9 are refused as duplicates', async () => {
    const server = await start({});
    const to = '+14155550850';
    const results = await Promise.all(Array.from({ length: 10 }, () => server.callTool('send_sms', { to, body: 'only once' })));
    expect(await server.sandboxMessagesTo(to)).toBe(1);
    expect(results.filter((r) => r.json.rule === 'duplicate')).toHaveLength(9);
  });

  it('10 at once against a spend cap that fits 2: exactly 2 reach the sandbox', async () => {
    const server = await start({ TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '0.02' });
    const recipients = Array.from({ length: 10 }, (_, i) => `+1415555${String(860 + i).padStart(4, '0')}`);
    await Promise.all(recipients.map((to) => server.callTool('send_sms', { to, body: `spend ${to}` })));
    expect(await reachedAll(server, recipients)).toBe(2);
  });
});
