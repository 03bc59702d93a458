/**
 * "How many did we send today, did any fail, why?" in one call, through the real server:
 * the failed message (which has no date_sent, so Twilio's DateSent filter drops it) is
 * counted, with its error's meaning; opt-outs and replies of the window too.
 */
import { describe, expect, it } from 'vitest';
import { appPerTest, type InProcessServer } from '../helpers/in-process.js';

const start = appPerTest();

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function settled(server: InProcessServer, sid: string, status: string) {
  await until(`${sid} ${status}`, async () => { const s = (await server.callTool('get_delivery_status', { sid })).json; return s.current_status === status && s.source === 'status callbacks' ? true : undefined; });
}

describe('get_messaging_insights', () => {
  it('counts today\'s sends by outcome, explains the failure, and sees opt-outs and replies', async () => {
    const server = await start({ TWILIO_SANDBOX_DELIVERY_MS: '200' }, { toolsets: 'messaging,inbox,insights' });
    const ok1 = await server.callTool('send_sms', { to: '+14155550971', body: 'one' });
    const ok2 = await server.callTool('send_sms', { to: '+14155550972', body: 'two' });
    const bad = await server.callTool('send_sms', { to: '+14155553008', body: 'three' });
    await settled(server, ok1.json.message_sid, 'delivered');
    await settled(server, ok2.json.message_sid, 'delivered');
    await settled(server, bad.json.message_sid, 'failed');
    await server.callTool('simulate_inbound_message', { from: '+14155550971', body: 'thanks!' });
    await server.callTool('simulate_inbound_message', { from: '+14155550972', body: 'STOP' });

    const insights = await server.callTool('get_messaging_insights', { period: 'today' });
    expect(insights.isError, insights.text).toBe(false);
    expect(insights.json).toMatchObject({ sent: 3, delivered: 2, failed: 1, undelivered: 0, pending: 0, delivery_rate: 0.667, opt_outs_gained: 1, replies_received: 2 });
    expect(insights.json.top_errors).toEqual([expect.objectContaining({ error_code: 30008, count: 1, meaning: expect.any(String) })]);
    expect(insights.json.by_country.US).toEqual({ sent: 3, delivered: 2, failed: 1 });
    expect(insights.json.by_sender['+15005550006']).toEqual({ sent: 3, delivered: 2, failed: 1 });
    expect(insights.json.median_seconds_to_delivered).toBeGreaterThan(0);
    expect(insights.json.sources).toMatchObject({ this_server: 3, account_message_list: 0 });
    // Yesterday had nothing.
    expect((await server.callTool('get_messaging_insights', { period: 'yesterday' })).json.sent).toBe(0);

    // The same messages over time (the dashboard's chart): every one in a bucket, by outcome.
    const timeline = await server.app.services.insights.deliveryTimeline({ period: 'today' });
    const sum = (k: 'sent' | 'delivered' | 'failed' | 'undelivered' | 'pending') => timeline.buckets.reduce((n, b) => n + b[k], 0);
    expect([sum('sent'), sum('delivered'), sum('failed'), sum('undelivered'), sum('pending')]).toEqual([3, 2, 1, 0, 0]);
    expect(timeline.buckets.length).toBeLessThanOrEqual(60);
    expect(Date.parse(timeline.buckets[0]!.start)).toBe(Date.parse(insights.json.window.start));
    const busy = timeline.buckets.find((b) => b.sent > 0)!;
    expect(Date.now() - Date.parse(busy.start)).toBeLessThan(timeline.bucket_seconds * 1000 + 60_000);
    expect((await server.app.services.insights.deliveryTimeline({ period: 'yesterday' })).buckets.every((b) => b.sent === 0)).toBe(true);
  });
});
