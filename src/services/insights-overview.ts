/**
 * The figures show_insights puts in front of a person: a period's delivery (from
 * InsightsService, the same numbers get_messaging_insights gives) and the progress of the
 * campaigns that matter in that period (from CampaignService, as get_campaign reports them).
 * No MCP types here.
 */
import { ACTIVE_STATES } from '../store/outbox.js';
import type { CampaignService } from './campaigns.js';
import type { InsightsService, PeriodName } from './insights.js';

export interface InsightsOverviewInput {
  period?: PeriodName;
  start?: string;
  end?: string;
  campaign_id?: string;
}

/** A view has room for a few campaigns; get_campaign / list_campaigns have the rest. */
export const MAX_CAMPAIGNS = 5;
/** How many of the newest campaigns are considered (each costs a read of its counts). */
const CANDIDATES = 50;

type CampaignReport = Awaited<ReturnType<CampaignService['get']>>;

function campaignView(report: CampaignReport) {
  const recipients = Object.values(report.counts).reduce((sum, n) => sum + n, 0);
  const active = ACTIVE_STATES.reduce((sum, state) => sum + (report.counts[state] ?? 0), 0);
  return {
    campaign_id: report.campaign_id,
    name: report.name,
    state: report.state,
    channel: report.channel,
    recipients,
    done: recipients - active,
    counts: report.counts,
    delivery: report.delivery,
    ...(report.error && { error: report.error }),
    updated_at: report.updated_at,
  };
}

export async function insightsOverview(
  services: { insights: Pick<InsightsService, 'messaging'>; campaigns: Pick<CampaignService, 'get' | 'list'> },
  input: InsightsOverviewInput,
) {
  const figures = await services.insights.messaging({ period: input.period, start: input.start, end: input.end });
  const campaigns = input.campaign_id
    ? [campaignView(await services.campaigns.get(input.campaign_id))]
    : await campaignsDuring(services.campaigns, new Date(figures.window.start), new Date(figures.window.end));
  return {
    window: figures.window,
    delivery: {
      sent: figures.sent,
      delivered: figures.delivered,
      failed: figures.failed,
      undelivered: figures.undelivered,
      pending: figures.pending,
      delivery_rate: figures.delivery_rate,
      median_seconds_to_delivered: figures.median_seconds_to_delivered,
      estimated_cost_usd: figures.estimated_cost_usd,
      replies_received: figures.replies_received,
      opt_outs_gained: figures.opt_outs_gained,
      top_errors: figures.top_errors,
      by_country: figures.by_country,
    },
    campaigns,
  };
}

/**
 * The campaigns that matter in [start, end), newest first: every running or paused one, and
 * the others that had started by the end and changed during it (a campaign completed or
 * canceled before the window is history, not progress).
 */
async function campaignsDuring(campaigns: Pick<CampaignService, 'get' | 'list'>, start: Date, end: Date) {
  const views: Array<ReturnType<typeof campaignView>> = [];
  for (const listed of (await campaigns.list({ limit: CANDIDATES })).campaigns) {
    if (views.length >= MAX_CAMPAIGNS) break;
    if (new Date(listed.created_at) >= end) continue;
    const view = campaignView(await campaigns.get(listed.campaign_id));
    if (view.state === 'running' || view.state === 'paused' || new Date(view.updated_at) >= start) views.push(view);
  }
  return views;
}
