/**
 * The JSON behind each panel, assembled from the services the tools use (no SQL here), so
 * the page shows the same numbers an agent gets: delivery and failures ARE
 * get_messaging_insights for the window; campaigns are the campaign service's live view;
 * the inbox is list_inbound_messages' view (third-party text, marked so); calls are
 * list_calls/get_call; guardrails are get_policy's caps and the audit log's refusals.
 */
import { z } from 'zod';
import type { CampaignService } from '../services/campaigns.js';
import type { AuditService } from '../services/audit.js';
import type { InboxService } from '../services/inbox.js';
import type { InsightsService, PeriodName } from '../services/insights.js';
import { periodWindow } from '../services/insights.js';
import type { IvrService } from '../services/ivr.js';
import type { VoiceService } from '../services/voice.js';
import { buildIvrDiagrams, type CallPath } from './ivr-diagram.js';

export const PANELS = ['delivery', 'failures', 'campaigns', 'inbox', 'calls', 'guardrails'] as const;
export type PanelName = (typeof PANELS)[number];

/** The window every panel is computed over: get_messaging_insights' own inputs. */
export interface DashboardWindow {
  period?: PeriodName;
  start?: string;
  end?: string;
}

const WindowSchema = z
  .object({
    period: z.enum(['today', 'yesterday', 'this_month', 'last_month']).optional(),
    start: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date, YYYY-MM-DD').optional(),
    end: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date, YYYY-MM-DD').optional(),
  })
  .strict();

/** The window named by a query string (?period=today, or ?start=…&end=…); throws a readable Error when malformed. */
export function windowFromQuery(query: URLSearchParams): DashboardWindow {
  const raw: Record<string, string> = {};
  for (const [key, value] of query) if (key === 'period' || key === 'start' || key === 'end') raw[key] = value;
  const parsed = WindowSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`window: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'query'} ${i.message}`).join('; ')}`);
  const window = parsed.data.start || parsed.data.end ? { ...(parsed.data.start && { start: parsed.data.start }), ...(parsed.data.end && { end: parsed.data.end }) } : { period: parsed.data.period ?? 'today' };
  periodWindow(window, new Date()); // throws when start is after end
  return window;
}

export const windowKey = (w: DashboardWindow) => (w.period ? w.period : `${w.start ?? ''}..${w.end ?? ''}`);

export interface PanelSources {
  insights: InsightsService;
  campaigns: CampaignService;
  inbox: InboxService;
  voice: VoiceService;
  ivr: IvrService;
  audit: AuditService;
  /** get_policy's view (PolicyEngine.describe): caps, their use today, the rules in force. */
  describePolicy: () => Promise<Record<string, unknown>>;
  /** Calls are listed only when the server may place or receive them (else the panel says so). */
  callsEnabled: boolean;
  /**
   * The campaign buttons work when control_campaign is one of this server's tools (not
   * --read-only, campaigns toolset on): the page may do what an agent may, no more.
   */
  campaignControl: boolean;
  /** Calls that reached a final status, as get_call read them (they no longer change): read once. */
  finishedCalls?: Map<string, Awaited<ReturnType<VoiceService['getCall']>>>;
}

/** Call statuses after which nothing about a call changes. */
const FINAL_CALL = new Set(['completed', 'busy', 'no-answer', 'failed', 'canceled']);
const FINISHED_CALLS_KEPT = 500;
const SETTLED_MS = 30_000;

/**
 * Panels whose numbers will move with no event to say so. A call reports its end only to
 * its status callback, and most have none this server hears: inbound calls (a number's
 * status callback is usually unset), the legs a <Dial> makes. So while the calls panel
 * shows a call that has not ended, the feed reads it again on its own.
 */
export function panelsStillMoving(built: Partial<Record<PanelName, unknown>>): PanelName[] {
  const calls = (built.calls as { calls?: Array<{ status?: unknown }> } | undefined)?.calls;
  return calls?.some((c) => typeof c.status === 'string' && !FINAL_CALL.has(c.status)) ? ['calls'] : [];
}

/** Most recent calls read in detail for the calls panel (each is a get_call). */
const CALL_DETAILS = 25;
const INBOX_ROWS = 50;
const CAMPAIGNS_SHOWN = 10;

const CapsSchema = z
  .object({
    messages_per_hour: z.number(),
    messages_per_day: z.number(),
    calls_per_day: z.number().optional(),
    spend_per_day_usd: z.number(),
    resets_at: z.object({ hour: z.string(), day: z.string() }),
    used: z
      .object({ messages_this_hour: z.number(), messages_today: z.number(), calls_today: z.number().optional(), estimated_spend_today_usd: z.number() })
      .optional(),
  })
  .passthrough();

/**
 * Computes panels for one window. One instance per refresh: panels that share a source
 * (delivery and failures are one insights call) compute it once.
 */
export class PanelBuilder {
  private messaging: ReturnType<InsightsService['messaging']> | undefined;
  private campaignList: Promise<Array<Awaited<ReturnType<CampaignService['live']>>>> | undefined;

  constructor(
    private readonly sources: PanelSources,
    private readonly window: DashboardWindow,
  ) {}

  async build(panels: Iterable<PanelName>): Promise<Partial<Record<PanelName, unknown>>> {
    const names = [...new Set(panels)];
    const built = await Promise.all(
      names.map(async (name) => {
        try {
          return [name, await this.panel(name)] as const;
        } catch (error) {
          // One panel's failure (Twilio unreachable for calls, say) must not blank the others.
          return [name, { error: error instanceof Error ? error.message : String(error) }] as const;
        }
      }),
    );
    return Object.fromEntries(built);
  }

  private panel(name: PanelName): Promise<unknown> {
    switch (name) {
      case 'delivery':
        return this.delivery();
      case 'failures':
        return this.failures();
      case 'campaigns':
        return this.campaigns();
      case 'inbox':
        return this.inbox();
      case 'calls':
        return this.calls();
      case 'guardrails':
        return this.guardrails();
    }
  }

  private insights() {
    this.messaging ??= this.sources.insights.messaging(this.window);
    return this.messaging;
  }

  private range() {
    return periodWindow(this.window, new Date());
  }

  async delivery() {
    const [m, timeline] = await Promise.all([this.insights(), this.sources.insights.deliveryTimeline(this.window)]);
    return {
      window: m.window,
      sent: m.sent,
      delivered: m.delivered,
      undelivered: m.undelivered,
      failed: m.failed,
      pending: m.pending,
      delivery_rate: m.delivery_rate,
      median_seconds_to_delivered: m.median_seconds_to_delivered,
      estimated_cost_usd: m.estimated_cost_usd,
      timeline: { bucket_seconds: timeline.bucket_seconds, buckets: timeline.buckets, source: timeline.source },
      sources: m.sources,
    };
  }

  async failures() {
    const m = await this.insights();
    const rows = (breakdown: Record<string, { sent: number; delivered: number; failed: number }>) =>
      Object.entries(breakdown)
        .map(([key, v]) => ({ key, ...v, failure_rate: v.sent > 0 ? Math.round((v.failed / v.sent) * 1000) / 1000 : null }))
        .sort((a, b) => b.failed - a.failed || b.sent - a.sent || a.key.localeCompare(b.key));
    return {
      window: m.window,
      failed: m.failed + m.undelivered,
      top_errors: m.top_errors,
      by_country: rows(m.by_country),
      by_sender: rows(m.by_sender),
    };
  }

  private liveCampaigns() {
    this.campaignList ??= (async () => {
      const { start, end } = this.range();
      const { campaigns } = await this.sources.campaigns.list({ limit: 100 });
      // Running and paused ones always (they can be acted on), then the window's others.
      const shown = campaigns
        .filter((c) => c.state === 'running' || c.state === 'paused' || (Date.parse(c.created_at) >= start.getTime() && Date.parse(c.created_at) < end.getTime()))
        .sort((a, b) => Number(b.state === 'running' || b.state === 'paused') - Number(a.state === 'running' || a.state === 'paused'))
        .slice(0, CAMPAIGNS_SHOWN);
      return Promise.all(shown.map((c) => this.sources.campaigns.live(c.campaign_id)));
    })();
    return this.campaignList;
  }

  async campaigns() {
    return {
      controls: this.sources.campaignControl,
      ...(!this.sources.campaignControl && { controls_note: 'Pause, resume and cancel are off: this server is --read-only, or its campaigns toolset is not enabled.' }),
      campaigns: await this.liveCampaigns(),
    };
  }

  async inbox() {
    const { start, end } = this.range();
    const [inbound, optOuts, m] = await Promise.all([
      this.sources.inbox.listInbound({ since: start.toISOString(), limit: INBOX_ROWS }),
      this.sources.inbox.listOptOuts({ limit: 500 }),
      this.insights(),
    ]);
    const messages = inbound.messages.filter((x) => Date.parse(x.received_at) < end.getTime());
    return {
      window: m.window,
      notice: inbound.notice,
      replies_received: m.replies_received,
      opt_outs_gained: m.opt_outs_gained,
      messages: messages.map((x) => ({ message_sid: x.message_sid, from: x.from, to: x.to, body: x.body, channel: x.channel, keyword: x.keyword, media: x.media.length, received_at: x.received_at, trust: x.trust })),
      opt_outs: optOuts.opt_outs.filter((o) => Date.parse(o.since) >= start.getTime() && Date.parse(o.since) < end.getTime()).slice(0, INBOX_ROWS),
    };
  }

  async calls() {
    if (!this.sources.callsEnabled) return { enabled: false, note: 'The voice toolset is not enabled on this server (--toolsets voice or all).' };
    const { start, end } = this.range();
    const listed = await this.sources.voice.listCalls({ limit: CALL_DETAILS });
    const kept = this.sources.finishedCalls;
    const details = await Promise.all(
      listed.calls.map(async (c) => {
        const known = kept?.get(c.call_sid);
        if (known) return known;
        const call = await this.sources.voice.getCall(c.call_sid);
        // Settled a while ago: the last webhooks of a call (its IVR path's end) land just after it ends.
        const endedAt = Date.parse(call.end_time ?? call.date_created ?? '');
        if (kept && FINAL_CALL.has(call.status) && Date.now() - endedAt > SETTLED_MS && !(call.conversation && call.conversation.outcome === null)) {
          if (kept.size >= FINISHED_CALLS_KEPT) kept.delete(kept.keys().next().value!);
          kept.set(c.call_sid, call);
        }
        return call;
      }),
    );
    // A call that never started (busy, no answer) has no start time: its creation dates it.
    const inWindow = details.filter((c) => {
      const at = Date.parse(c.start_time ?? c.date_created ?? '');
      return at >= start.getTime() && at < end.getTime();
    });
    const outcomes: Record<string, number> = {};
    for (const c of inWindow) outcomes[c.status] = (outcomes[c.status] ?? 0) + 1;
    const durations = inWindow.map((c) => c.duration_seconds).filter((d): d is number => d !== null && d > 0).sort((a, b) => a - b);
    const median = durations.length === 0 ? null : durations.length % 2 ? durations[(durations.length - 1) / 2]! : (durations[durations.length / 2 - 1]! + durations[durations.length / 2]!) / 2;
    const paths: CallPath[] = inWindow.filter((c) => c.ivr_flow && c.ivr_path).map((c) => ({ callSid: c.call_sid, flow: c.ivr_flow!, path: c.ivr_path! }));
    const starts = new Map<string, string>();
    for (const flow of new Set(paths.map((p) => p.flow))) {
      const found = await this.sources.ivr.getFlow(flow).catch(() => undefined);
      if (found) starts.set(flow, found.start);
    }
    return {
      enabled: true,
      window: { start: start.toISOString(), end: end.toISOString() },
      note: `The ${CALL_DETAILS} most recent calls of the account, those in the window.`,
      total: inWindow.length,
      outcomes,
      durations: { answered: durations.length, total_seconds: durations.reduce((a, b) => a + b, 0), median_seconds: median },
      calls: inWindow.map((c) => ({
        call_sid: c.call_sid,
        from: c.from,
        to: c.to,
        direction: c.direction,
        status: c.status,
        duration_seconds: c.duration_seconds,
        start_time: c.start_time ?? c.date_created,
        answered_by: c.answered_by,
        ivr_flow: c.ivr_flow ?? null,
        ivr_steps: c.ivr_path?.filter((e) => e.event === 'prompt').map((e) => e.step) ?? [],
        conversation: c.conversation ? { purpose: c.conversation.purpose, outcome: c.conversation.outcome, transcript: c.conversation.transcript, trust: 'untrusted-third-party' as const } : null,
      })),
      ivr_flows: buildIvrDiagrams(paths, (flow) => starts.get(flow)),
    };
  }

  async guardrails() {
    const [policy, refusals, campaigns] = await Promise.all([this.sources.describePolicy(), this.sources.audit.refusalsByRule(this.range()), this.liveCampaigns()]);
    const caps = CapsSchema.safeParse(policy.caps);
    const used = caps.success ? caps.data.used : undefined;
    const cap = (limit: number | undefined, value: number | undefined, resets: string | undefined) =>
      limit === undefined ? undefined : { used: value ?? null, limit, share: value !== undefined && limit > 0 ? Math.round((value / limit) * 1000) / 1000 : null, resets_at: resets ?? null };
    const c = caps.success ? caps.data : undefined;
    // Campaign sends are not tool calls: their refusals are the rows the campaigns skipped.
    const skipped = { opt_out: 0, policy: 0 };
    for (const campaign of campaigns) {
      skipped.opt_out += campaign.counts.skipped_opt_out ?? 0;
      skipped.policy += campaign.counts.skipped_policy ?? 0;
    }
    return {
      dry_run: policy.dry_run === true,
      caps: c && {
        messages_this_hour: cap(c.messages_per_hour, used?.messages_this_hour, c.resets_at.hour),
        messages_today: cap(c.messages_per_day, used?.messages_today, c.resets_at.day),
        ...(c.calls_per_day !== undefined && { calls_today: cap(c.calls_per_day, used?.calls_today, c.resets_at.day) }),
        spend_today_usd: cap(c.spend_per_day_usd, used?.estimated_spend_today_usd, c.resets_at.day),
        windows: 'calendar windows in UTC (this hour, today), whatever window the page shows',
      },
      refusals: { window: { start: this.range().start.toISOString(), end: this.range().end.toISOString() }, ...refusals },
      campaign_skips: skipped,
      rules: {
        destination_countries: policy.destination_countries ?? null,
        quiet_hours: policy.quiet_hours ?? null,
        first_contact: policy.first_contact ?? null,
        duplicate_window_minutes: policy.duplicate_window_minutes ?? null,
      },
    };
  }
}
