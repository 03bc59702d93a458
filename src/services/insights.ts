/**
 * Usage, balance and messaging insights. Insights answer "how many did we send, did any
 * fail, why?" in one call: from the local store, which knows every message this server sent
 * (failed ones included, which have no date_sent and which Twilio's DateSent filter drops),
 * completed from the account's message list for messages sent by anything else (the result
 * says which it used). No MCP types here.
 */
import { explainTwilioError } from '../errors/twilio-error-catalog.js';
import { ToolFailure } from '../errors/tool-failure.js';
import type { TwilioGateway } from '../gateway/twilio-gateway.js';
import type { UsagePeriod } from '../gateway/usage-gateway.js';
import type { SentMessageFact, Store } from '../store/store.js';
import { countryOfNumber, loadPhoneMetadata } from '../policy/policy-engine.js';

export type PeriodName = 'today' | 'yesterday' | 'this_month' | 'last_month';
const DAY = 86_400_000;
/** Pages of the account's message list read at most, to complete the local picture. */
const MAX_ACCOUNT_PAGES = 5;

/** [start, end) of a period in UTC, or of explicit dates (end inclusive as a date). */
export function periodWindow(input: { period?: PeriodName; start?: string; end?: string }, now: Date): { start: Date; end: Date; label: string } {
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  if (input.start || input.end) {
    const start = input.start ? new Date(`${input.start.slice(0, 10)}T00:00:00Z`) : today;
    const end = input.end ? new Date(new Date(`${input.end.slice(0, 10)}T00:00:00Z`).getTime() + DAY) : new Date(today.getTime() + DAY);
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end <= start) {
      throw new ToolFailure({ message: 'start/end must be dates (YYYY-MM-DD) with start on or before end.', nextStep: 'e.g. start "2026-11-01", end "2026-11-30", or a period such as "this_month".' });
    }
    return { start, end, label: `${start.toISOString().slice(0, 10)} – ${new Date(end.getTime() - DAY).toISOString().slice(0, 10)}` };
  }
  const period = input.period ?? 'today';
  switch (period) {
    case 'today':
      return { start: today, end: new Date(today.getTime() + DAY), label: 'today (UTC)' };
    case 'yesterday':
      return { start: new Date(today.getTime() - DAY), end: today, label: 'yesterday (UTC)' };
    case 'this_month':
      return { start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)), end: new Date(today.getTime() + DAY), label: 'this month (UTC)' };
    case 'last_month':
      return { start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)), end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)), label: 'last month (UTC)' };
  }
}

const FAILED = new Set(['failed', 'undelivered']);
/** Bucket widths a delivery timeline may use (seconds): the smallest that gives at most MAX_BUCKETS. */
const BUCKET_SECONDS = [60, 300, 900, 3600, 6 * 3600, 86_400] as const;
const MAX_BUCKETS = 60;

export interface TimelineBucket {
  /** Start of the bucket (ISO); messages are placed by when they were sent (reserved). */
  start: string;
  sent: number;
  delivered: number;
  undelivered: number;
  failed: number;
  /** Neither delivered nor failed yet (queued, sent, or outcome unknown). */
  pending: number;
}
const median = (xs: number[]) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export class InsightsService {
  constructor(
    private readonly gateway: TwilioGateway,
    private readonly store: () => Promise<Store>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async usage(input: { category?: string; period?: PeriodName; start?: string; end?: string }) {
    const period: UsagePeriod = input.start || input.end ? (() => {
      const w = periodWindow(input, this.now());
      return { start: w.start.toISOString().slice(0, 10), end: new Date(w.end.getTime() - DAY).toISOString().slice(0, 10) };
    })() : (input.period ?? 'today');
    const records = await this.gateway.usage.usage(period, input.category === 'all' ? undefined : input.category);
    const used = records.filter((r) => (r.count ?? 0) > 0 || (r.price ?? 0) > 0);
    return {
      period: typeof period === 'string' ? period : `${period.start} – ${period.end}`,
      records: used.map((r) => ({ category: r.category, description: r.description, count: r.count, usage: r.usage, usage_unit: r.usageUnit, price: r.price, price_unit: r.priceUnit })),
      total_price: Math.round(used.filter((r) => r.category === 'totalprice').reduce((s, r) => s + (r.price ?? 0), 0) * 10_000) / 10_000 || undefined,
    };
  }

  async balance() {
    const b = await this.gateway.usage.balance();
    return { balance: b.balance, currency: b.currency };
  }

  /**
   * Sent → delivered / undelivered / failed over time, for this server's own messages (the
   * store knows each one's current status; the account list has no history to offer). The
   * window is get_messaging_insights' window, cut at now; buckets are aligned to its start.
   */
  async deliveryTimeline(input: { period?: PeriodName; start?: string; end?: string; from?: string }) {
    const now = this.now();
    const window = periodWindow(input, now);
    const until = new Date(Math.max(window.start.getTime() + 1, Math.min(window.end.getTime(), now.getTime())));
    const spanSeconds = (until.getTime() - window.start.getTime()) / 1000;
    const bucketSeconds: number = BUCKET_SECONDS.find((b) => spanSeconds / b <= MAX_BUCKETS) ?? 86_400;
    const count = Math.max(1, Math.ceil(spanSeconds / bucketSeconds));
    const buckets: TimelineBucket[] = Array.from({ length: count }, (_, i) => ({
      start: new Date(window.start.getTime() + i * bucketSeconds * 1000).toISOString(),
      sent: 0,
      delivered: 0,
      undelivered: 0,
      failed: 0,
      pending: 0,
    }));
    const messages = (await (await this.store()).messagesSentBetween(window.start, window.end)).filter((m) => !input.from || m.from === input.from);
    for (const m of messages) {
      const index = Math.min(count - 1, Math.max(0, Math.floor((m.at.getTime() - window.start.getTime()) / 1000 / bucketSeconds)));
      const bucket = buckets[index]!;
      bucket.sent += 1;
      if (m.status === 'delivered' || m.status === 'undelivered' || m.status === 'failed') bucket[m.status] += 1;
      else bucket.pending += 1;
    }
    return { window: { label: window.label, start: window.start.toISOString(), end: window.end.toISOString() }, bucket_seconds: bucketSeconds, buckets, source: 'this_server' as const };
  }

  async messaging(input: { period?: PeriodName; start?: string; end?: string; from?: string }) {
    const window = periodWindow(input, this.now());
    const store = await this.store();
    await loadPhoneMetadata();
    const local = (await store.messagesSentBetween(window.start, window.end)).filter((m) => !input.from || m.from === input.from);
    const known = new Set(local.map((m) => m.sid).filter(Boolean));
    // Messages this server did not send: the account's list (by date sent; failed ones of
    // other senders without a date_sent cannot be found this way, and the result says so).
    const elsewhere: SentMessageFact[] = [];
    let accountListRead = true;
    try {
      let page = await this.gateway.listMessages({ dateSentAfter: window.start, dateSentBefore: window.end, ...(input.from && { from: input.from }) }, 200);
      for (let i = 0; ; i++) {
        for (const m of page.messages) {
          if (m.direction === 'inbound' || known.has(m.sid)) continue;
          elsewhere.push({ sid: m.sid, to: m.to, from: m.from, channel: m.to.startsWith('whatsapp:') ? 'whatsapp' : 'sms', state: 'sent', at: m.dateCreated ?? window.start, estimatedCost: Math.abs(Number(m.price ?? 0)) || 0, status: m.status, errorCode: m.errorCode, deliveredAt: null });
        }
        if (!page.nextPageUrl || i + 1 >= MAX_ACCOUNT_PAGES) break;
        page = await this.gateway.listMessagesAt(page.nextPageUrl);
      }
    } catch {
      accountListRead = false;
    }
    const all = [...local, ...elsewhere];
    const statusOf = (m: SentMessageFact) => m.status ?? (m.state === 'outcome_unknown' ? 'outcome_unknown' : 'sent');
    const count = (pred: (m: SentMessageFact) => boolean) => all.filter(pred).length;
    const delivered = count((m) => statusOf(m) === 'delivered');
    const failed = count((m) => statusOf(m) === 'failed');
    const undelivered = count((m) => statusOf(m) === 'undelivered');
    const errors = new Map<number, number>();
    for (const m of all) if (m.errorCode && FAILED.has(statusOf(m))) errors.set(m.errorCode, (errors.get(m.errorCode) ?? 0) + 1);
    const group = (key: (m: SentMessageFact) => string) => {
      const g = new Map<string, { sent: number; delivered: number; failed: number }>();
      for (const m of all) {
        const k = key(m);
        const e = g.get(k) ?? { sent: 0, delivered: 0, failed: 0 };
        e.sent++;
        if (statusOf(m) === 'delivered') e.delivered++;
        if (FAILED.has(statusOf(m))) e.failed++;
        g.set(k, e);
      }
      return Object.fromEntries([...g].sort((a, b) => b[1].sent - a[1].sent));
    };
    const deliveryTimes = local.filter((m) => m.deliveredAt).map((m) => (m.deliveredAt!.getTime() - m.at.getTime()) / 1000);
    const optOuts = await store.optOutChangesBetween(window.start, window.end);
    const finished = delivered + failed + undelivered;
    return {
      window: { label: window.label, start: window.start.toISOString(), end: window.end.toISOString() },
      sent: all.length,
      delivered,
      failed,
      undelivered,
      pending: all.length - finished,
      delivery_rate: finished > 0 ? Math.round((delivered / finished) * 1000) / 1000 : null,
      median_seconds_to_delivered: median(deliveryTimes),
      top_errors: [...errors].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([code, n]) => {
        const explained = explainTwilioError(code);
        return { error_code: code, count: n, meaning: explained?.meaning ?? null, next_step: explained?.nextStep ?? null };
      }),
      by_country: group((m) => countryOfNumber(m.to.replace(/^whatsapp:/, '')) ?? 'unknown'),
      by_sender: group((m) => m.from ?? 'unknown'),
      // People, not rows: one STOP records the number and its Messaging Service.
      opt_outs_gained: new Set(optOuts.filter((o) => o.action === 'add').map((o) => o.recipient.replace(/^whatsapp:/, ''))).size,
      replies_received: await store.countInboundBetween(window.start, window.end),
      estimated_cost_usd: Math.round(all.reduce((s, m) => s + m.estimatedCost, 0) * 10_000) / 10_000,
      sources: {
        this_server: local.length,
        account_message_list: accountListRead ? elsewhere.length : null,
        note: accountListRead
          ? 'Messages of this server come from its store (failed ones included); other senders\' from the account list by send date (their failed messages have none and are missing).'
          : 'The account message list could not be read: only this server\'s messages are counted.',
      },
    };
  }
}
