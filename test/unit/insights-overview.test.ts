/**
 * Which campaigns show_insights puts in front of a person for a window, and how their
 * progress is counted: the rules of src/services/insights-overview.ts on stub services
 * (dates the real clock of an e2e run cannot produce, such as a campaign finished before
 * the window began).
 */
import { describe, expect, it } from 'vitest';
import { insightsOverview, MAX_CAMPAIGNS } from '../../src/services/insights-overview.js';
import type { CampaignService } from '../../src/services/campaigns.js';
import type { InsightsService } from '../../src/services/insights.js';

const WINDOW = { label: 'yesterday (UTC)', start: '2026-11-30T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };

type Messaging = Awaited<ReturnType<InsightsService['messaging']>>;
type CampaignReport = Awaited<ReturnType<CampaignService['get']>>;
const figures: Messaging = {
  window: WINDOW,
  sent: 7,
  delivered: 4,
  failed: 1,
  undelivered: 2,
  pending: 0,
  delivery_rate: 0.571,
  median_seconds_to_delivered: 3,
  top_errors: [{ error_code: 30003, count: 2, meaning: 'Unreachable destination handset', next_step: 'Try again later.' }],
  by_country: { US: { sent: 7, delivered: 4, failed: 3 } },
  by_sender: { '+15005550006': { sent: 7, delivered: 4, failed: 3 } },
  opt_outs_gained: 1,
  replies_received: 2,
  estimated_cost_usd: 0.0581,
  sources: { this_server: 7, account_message_list: 0, note: '' },
};

interface Stub {
  id: string;
  state: 'running' | 'paused' | 'canceled' | 'completed';
  created: string;
  updated: string;
  counts?: Record<string, number>;
}

const id = (n: number) => `CP${String(n).padStart(32, '0')}`;

function services(stubs: Stub[]) {
  const reads: string[] = [];
  // get_campaign's whole answer, as CampaignService.get gives it.
  const report = (s: Stub): CampaignReport => ({
    campaign_id: s.id,
    name: `campaign ${s.id.slice(-2)}`,
    state: s.state,
    channel: 'sms',
    counts: s.counts ?? { sent: 1 },
    delivery: { delivered: 1 },
    created_at: s.created,
    updated_at: s.updated,
    errors: [{ code: 30003, count: 1, meaning: 'Unreachable destination handset' }],
    throughput: { messages_per_second: 0.5, last_minute: 1 },
    cost: { spent_usd: 0.0079, source: 'estimate' },
    replies: 1,
    opt_outs: 0,
  });
  const campaigns: Pick<CampaignService, 'get' | 'list'> = {
    list: async ({ limit }) => ({ campaigns: stubs.slice(0, limit).map((s) => ({ campaign_id: s.id, name: '', state: s.state, counts: {}, created_at: s.created })) }),
    get: async (campaignId) => {
      reads.push(campaignId);
      const found = stubs.find((s) => s.id === campaignId);
      if (!found) throw new Error(`no campaign ${campaignId}`);
      return report(found);
    },
  };
  const insights: Pick<InsightsService, 'messaging'> = { messaging: async () => figures };
  return { services: { insights, campaigns }, reads };
}

describe('show_insights campaigns', () => {
  it('keeps the running and paused ones and those that changed in the window; not those finished before it or started after it', async () => {
    const { services: s } = services([
      { id: id(1), state: 'running', created: '2026-12-01T08:00:00Z', updated: '2026-12-01T08:00:00Z' }, // started after the window
      { id: id(2), state: 'completed', created: '2026-11-30T09:00:00Z', updated: '2026-11-30T10:00:00Z' }, // finished in it
      { id: id(3), state: 'canceled', created: '2026-11-29T09:00:00Z', updated: '2026-11-30T01:00:00Z' }, // canceled in it
      { id: id(4), state: 'completed', created: '2026-11-28T09:00:00Z', updated: '2026-11-29T23:59:59Z' }, // finished before it
      { id: id(5), state: 'paused', created: '2026-11-01T09:00:00Z', updated: '2026-11-02T09:00:00Z' }, // still going
    ]);
    const shown = await insightsOverview(s, { period: 'yesterday' });
    expect(shown.campaigns.map((c) => c.campaign_id)).toEqual([id(2), id(3), id(5)]);
  });

  it(`shows at most ${MAX_CAMPAIGNS}, newest first, and stops reading once it has them`, async () => {
    const stubs: Stub[] = Array.from({ length: 12 }, (_, i) => ({ id: id(i + 1), state: 'running', created: '2026-11-30T09:00:00Z', updated: '2026-11-30T09:00:00Z' }));
    const { services: s, reads } = services(stubs);
    const shown = await insightsOverview(s, {});
    expect(shown.campaigns.map((c) => c.campaign_id)).toEqual(stubs.slice(0, MAX_CAMPAIGNS).map((c) => c.id));
    expect(reads).toHaveLength(MAX_CAMPAIGNS);
  });

  it('shows one campaign asked for by id whatever the window', async () => {
    const { services: s } = services([
      { id: id(1), state: 'running', created: '2026-12-01T08:00:00Z', updated: '2026-12-01T08:00:00Z' },
      { id: id(2), state: 'completed', created: '2026-10-01T08:00:00Z', updated: '2026-10-01T09:00:00Z' },
    ]);
    const shown = await insightsOverview(s, { period: 'yesterday', campaign_id: id(2) });
    expect(shown.campaigns.map((c) => c.campaign_id)).toEqual([id(2)]);
  });

  it('counts every recipient, and as done those no longer waiting or sending', async () => {
    const counts = { sent: 3, pending: 2, held: 1, sending: 1, outcome_unknown: 1, invalid: 1, skipped_opt_out: 2, failed_send: 1 };
    const { services: s } = services([{ id: id(1), state: 'running', created: '2026-11-30T09:00:00Z', updated: '2026-11-30T09:00:00Z', counts }]);
    const [campaign] = (await insightsOverview(s, {})).campaigns;
    expect(campaign).toMatchObject({ recipients: 12, done: 7, counts, delivery: { delivered: 1 }, state: 'running', channel: 'sms' });
    expect(campaign).not.toHaveProperty('created_at');
  });
});

describe('show_insights delivery', () => {
  it('carries the figures of get_messaging_insights, without the per-sender breakdown and sources', async () => {
    const { services: s } = services([]);
    const shown = await insightsOverview(s, {});
    const { by_sender: _sender, sources: _sources, window, ...rest } = figures;
    expect(shown.window).toEqual(window);
    expect(shown.delivery).toEqual(rest);
    expect(shown.campaigns).toEqual([]);
  });
});
