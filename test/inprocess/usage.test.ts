/**
 * Usage and balance through the real server: what the sandbox billed for this app's sends
 * and calls shows in get_usage by category, and the balance drops by it.
 */
import { describe, expect, it } from 'vitest';
import { appPerTest } from '../helpers/in-process.js';

const start = appPerTest();

describe('usage and balance', () => {
  it('reports today\'s SMS and calls by category, and the balance drops by their price', async () => {
    // Twilio bills a message once it is sent: let the sandbox send quickly.
    const server = await start({ TWILIO_SANDBOX_DELIVERY_MS: '200' }, { toolsets: 'all' });
    const before = (await server.callTool('get_balance', {})).json;
    expect(before).toMatchObject({ currency: expect.any(String), balance: expect.any(Number) });
    for (const to of ['+14155550991', '+14155550992']) expect((await server.callTool('send_sms', { to, body: 'usage' })).isError).toBe(false);
    let sms: { count: number; price: number } | undefined;
    for (let i = 0; i < 100 && sms?.count !== 2; i++) {
      const usage = await server.callTool('get_usage', { category: 'sms', period: 'today' });
      expect(usage.isError, usage.text).toBe(false);
      sms = usage.json.records.find((r: { category: string }) => r.category === 'sms');
      if (sms?.count !== 2) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(sms).toMatchObject({ count: 2, price: expect.any(Number) });
    const after = (await server.callTool('get_balance', {})).json;
    expect(before.balance - after.balance).toBeCloseTo(sms!.price, 4);
    expect((await server.callTool('get_usage', { category: 'sms', period: 'yesterday' })).json.records).toEqual([]);
  });
});
