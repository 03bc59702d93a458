/**
 * The SQLite outbox's insights(): failures by error code (Twilio's refusals at create and
 * undelivered/failed callbacks), when rows became sent, spend from the send reservations,
 * and the replies and opt-outs that came after a recipient's message.
 */
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import type { Ingest, WebhookEvent } from '../../src/store/store.js';
import { newCampaign, pendingRows, T0 as t0, tempOutboxes } from './fakes.js';

const outboxes = tempOutboxes();
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const to = (i: number) => `+1212555${String(i).padStart(4, '0')}`;
const sid = (i: number) => `SM${String(i).padStart(32, '0')}`;

const campaign = newCampaign('CP1');
const rows = (n: number) => pendingRows(n, 'CP1');
const statusItem = (s: string, status: string, code: number | null, when: Date): { event: WebhookEvent; change: Ingest } => ({
  event: { kind: 'message_status', sid: s, status, idempotencyToken: null, receivedAt: when, params: {} },
  change: { kind: 'message_status', sid: s, status, errorCode: code, at: when },
});
const inboundItem = (n: number, from: string, when: Date): { event: WebhookEvent; change: Ingest } => ({
  event: { kind: 'inbound_message', sid: `SM${'f'.repeat(28)}${String(n).padStart(4, '0')}`, status: 'received', idempotencyToken: null, receivedAt: when, params: {} },
  change: {
    kind: 'inbound_message',
    message: { messageSid: `SM${'f'.repeat(28)}${String(n).padStart(4, '0')}`, from, to: '+14155550000', body: 'reply', media: [], messagingServiceSid: null, channel: 'sms', profileName: null, keyword: null, receivedAt: when },
    optOuts: [],
  },
});

describe('SQLite outbox insights', () => {
  it('errors by code, throughput, spend, and what recipients did after their message', async () => {
    const file = outboxes.file();
    const o = outboxes.open(file);
    await o.createCampaign(campaign, rows(6));
    const claimed = await o.claimBatch(6, at(1), 1);
    const store = openSqliteStore(file);
    try {
      // Rows 1–4 are sent (at 10 s, 20 s, 30 s, 100 s); each has a reservation with its cost.
      const sentAt = [10, 20, 30, 100];
      for (const [i, seconds] of sentAt.entries()) {
        const row = claimed[i]!;
        const reservation = await store.reserveSend({ to: row.to, bodyHash: null, duplicateSince: null, hourStart: t0, dayStart: t0 }, () => ({
          kind: 'message', channel: 'sms', to: row.to, bodyHash: null, estimatedCost: 0.01 * (i + 1), at: at(seconds), sendAt: null,
          audit: { at: at(seconds), tool: 'campaign_send', arguments: {}, clientName: null, sessionId: null },
        }));
        await store.settleSend(reservation.id, { state: 'sent', sid: sid(row.row), at: at(seconds) });
        await o.settle(row, 1, { state: 'sent', messageSid: sid(row.row) }, at(seconds));
      }
      // Row 5: Twilio refused it at create; row 6: opted out at Twilio (21610).
      await o.settle(claimed[4]!, 1, { state: 'failed_send', error: 'Invalid To number', errorCode: 21211 }, at(40));
      await o.settle(claimed[5]!, 1, { state: 'skipped_opt_out', error: 'unsubscribed', errorCode: 21610 }, at(41));
      // Callbacks: rows 1 and 2 undelivered with 30003, row 3 delivered.
      await store.ingestBatch([statusItem(sid(1), 'undelivered', 30003, at(50)), statusItem(sid(2), 'undelivered', 30003, at(51)), statusItem(sid(3), 'delivered', null, at(52))]);
      // Replies: row 1 before its message (not counted), row 2 twice after; row 3 opts out after, row 4 before.
      await store.ingestBatch([inboundItem(1, to(1), at(5)), inboundItem(2, to(2), at(60)), inboundItem(3, to(2), at(61))]);
      await store.applyOptOut({ action: 'add', sender: '+14155550000', recipient: to(4), source: 'keyword', keyword: 'STOP' }, at(90));
      await store.applyOptOut({ action: 'add', sender: '+14155550000', recipient: to(3), source: 'keyword', keyword: 'STOP' }, at(95));
    } finally {
      await store.close();
    }

    const insights = await o.insights('CP1', at(120));
    expect(insights.errors).toEqual([
      { code: 30003, count: 2, example: 'undelivered (error 30003)' },
      { code: 21211, count: 1, example: 'Invalid To number' },
      { code: 21610, count: 1, example: 'unsubscribed' },
    ]);
    expect(insights).toMatchObject({
      firstSentAt: at(10),
      lastSentAt: at(100),
      // Sent in the minute before 120 s: only the row sent at 100 s.
      sentLastMinute: 1,
      spentUsd: expect.closeTo(0.1, 6),
      replies: 2,
      optOuts: 1,
    });
  });

  it('a campaign with nothing sent has nothing to report', async () => {
    const o = outboxes.open(outboxes.file());
    await o.createCampaign(campaign, rows(2));
    expect(await o.insights('CP1', at(10))).toEqual({ errors: [], firstSentAt: null, lastSentAt: null, sentLastMinute: 0, spentUsd: 0, replies: 0, optOuts: 0 });
  });
});
