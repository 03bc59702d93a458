/**
 * Bulk campaigns: the tools' side of the campaign engine (src/campaigns/). Starting one
 * judges every row (the one number normaliser, duplicates, missing variables), stores them
 * in the durable outbox and returns at once with the counts, the estimated cost and a
 * preview; the engine then sends each recipient through the send pipeline at the sender's
 * throughput, and resumes after a restart. No MCP types here.
 */
import { stringify } from 'csv-stringify/sync';
import { parse } from 'csv-parse';
import { createReadStream, statSync, writeFileSync } from 'node:fs';
import type { CampaignEngine, CampaignReport } from '../campaigns/engine.js';
import { render } from '../campaigns/template.js';
import type { CampaignSpec, RecipientInput } from '../campaigns/types.js';
import { canonicalPhoneAddress } from '../domain/phone-address.js';
import { ToolFailure } from '../errors/tool-failure.js';
import { loadPhoneMetadata, NeedsConfirmation, type PolicyEngine } from '../policy/policy-engine.js';
import { readRecipients, RecipientFileError } from '../campaigns/recipients.js';
import type { Store } from '../store/store.js';
import { redactSecrets } from '../util/log.js';

export interface StartCampaignInput {
  name: string;
  channel?: 'sms' | 'whatsapp';
  template?: string;
  content_sid?: string;
  recipients?: Array<{ to: string; variables?: Record<string, string> }>;
  recipients_file?: string;
  from?: string;
  messaging_service_sid?: string;
  rate_per_second?: number;
  wait_seconds?: number;
}

const PREVIEW = 3;

function reportView(r: CampaignReport) {
  const counts = Object.fromEntries(Object.entries(r.counts).filter(([, n]) => n > 0));
  return {
    campaign_id: r.id,
    name: r.name,
    state: r.state,
    channel: r.channel,
    counts,
    delivery: r.delivery,
    ...(r.error && { error: r.error }),
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}

export class CampaignService {
  constructor(
    private readonly engine: () => Promise<CampaignEngine>,
    private readonly policy: PolicyEngine,
    private readonly store: () => Promise<Store>,
    private readonly defaults: { from: string | undefined; messagingServiceSid: string | undefined; whatsappFrom: string | undefined },
  ) {}

  async start(input: StartCampaignInput, progress: (done: number, total: number, message: string) => Promise<void>, options: { confirmed?: boolean } = {}) {
    if ((input.recipients === undefined) === (input.recipients_file === undefined)) {
      throw new ToolFailure({ message: 'Give exactly one of recipients (a list) or recipients_file (a local CSV or JSON file with a "to" column).', nextStep: 'For more than a few hundred people, use a file.' });
    }
    const channel = input.channel ?? 'sms';
    const from = input.from ?? (input.messaging_service_sid ? undefined : channel === 'whatsapp' ? this.defaults.whatsappFrom : (this.defaults.messagingServiceSid ? undefined : this.defaults.from));
    const messagingServiceSid = input.messaging_service_sid ?? (input.from ? undefined : channel === 'sms' ? this.defaults.messagingServiceSid : undefined);
    const spec: CampaignSpec = {
      name: input.name,
      channel,
      ...(input.template !== undefined && { template: input.template }),
      ...(input.content_sid && { contentSid: input.content_sid }),
      ...(from && { from: from.replace(/^whatsapp:/, '') }),
      ...(messagingServiceSid && { messagingServiceSid }),
      ...(input.rate_per_second !== undefined && { ratePerSecond: input.rate_per_second }),
      recipients: input.recipients ? { kind: 'inline', recipients: input.recipients as RecipientInput[] } : { kind: 'file', path: input.recipients_file! },
    };
    const preview = (input.recipients ?? []).slice(0, PREVIEW).map((r) => {
      const rendered = input.template ? render(input.template, r.variables ?? {}) : undefined;
      return { to: canonicalPhoneAddress(r.to) ?? r.to, body: rendered?.ok ? rendered.text : rendered ? `(not sent: missing ${rendered.missing.join(', ')})` : `(template ${input.content_sid})` };
    });
    // Under first_contact "confirm" the user confirms the campaign once, as a whole.
    if (this.policy.firstContact === 'confirm' && !options.confirmed) {
      let rows = 0;
      for await (const _row of this.readable(readRecipients(spec.recipients))) rows += 1;
      const sample = preview[0] ? ` First message: "${preview[0].body}" to ${preview[0].to}.` : '';
      throw new NeedsConfirmation(`Start campaign "${input.name}" to ${rows} recipients (before opt-out and policy checks)?${sample}`);
    }
    const engine = await this.engine();
    const report = await engine.create(spec).catch((error: unknown) => {
      throw error instanceof RecipientFileError ? this.fileFailure(error) : error;
    });
    // The estimate: every row still to send at the price of the first preview's body.
    const pending = report.counts.pending + report.counts.held;
    const perMessage = await this.perMessageCost(channel, preview.find((p) => !p.body.startsWith('(')), from, messagingServiceSid);
    const result = {
      ...reportView(report),
      estimated_cost_usd: Math.round(perMessage * pending * 10_000) / 10_000,
      preview,
      next_step: 'Follow it with get_campaign; pause, resume or cancel with control_campaign.',
    };
    if (!input.wait_seconds) return result;
    // The client waits: progress notifications until done or the wait is over.
    const deadline = Date.now() + input.wait_seconds * 1000;
    const total = Object.values(report.counts).reduce((a, b) => a + b, 0);
    let latest = report;
    while (Date.now() < deadline && latest.state === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 250));
      latest = (await engine.get(report.id)) ?? latest;
      const active = latest.counts.pending + latest.counts.held + latest.counts.sending + latest.counts.outcome_unknown;
      await progress(total - active, total, `${total - active} of ${total} recipients done`).catch(() => {});
    }
    return { ...result, ...reportView(latest) };
  }

  /** One message's estimated price: `sample` (a rendered body and its recipient) as the policy prices it; 0 without one. */
  private async perMessageCost(channel: 'sms' | 'whatsapp', sample: { to: string; body: string } | undefined, from: string | undefined, messagingServiceSid: string | undefined): Promise<number> {
    if (!sample) return 0;
    const [{ countSegments }] = await Promise.all([import('../domain/segments.js'), loadPhoneMetadata()]);
    return this.policy.estimateCost({ channel, to: sample.to, from, messagingServiceSid, body: sample.body, segments: channel === 'sms' ? countSegments(sample.body).segments : 1 });
  }

  /**
   * A campaign as a live view shows it: counts per state, delivery, throughput, what it cost
   * so far against the estimate, the replies and opt-outs it caused, and its errors. The
   * estimate is start_campaign's (the first of the first rows that renders, priced by the
   * policy, times every row that was to be sent), recomputed, since no copy is kept.
   */
  async live(id: string) {
    const engine = await this.engine();
    const report = await engine.get(id);
    if (!report) throw new ToolFailure({ message: `There is no campaign ${id}.`, nextStep: 'list_campaigns shows them.' });
    const [insights, firstRows] = await Promise.all([engine.insights(id), engine.recipients(id, { limit: PREVIEW })]);
    const template = report.template;
    const sample =
      template === null
        ? undefined
        : firstRows
            .map((r) => ({ to: r.to, rendered: render(template, r.variables) }))
            .map((r) => (r.rendered.ok ? { to: r.to, body: r.rendered.text } : undefined))
            .find((r) => r !== undefined);
    const from = report.from ? (report.channel === 'whatsapp' ? `whatsapp:${report.from}` : report.from) : undefined;
    const perMessage = await this.perMessageCost(report.channel, sample, from, report.messagingServiceSid ?? undefined);
    const total = Object.values(report.counts).reduce((a, b) => a + b, 0);
    const toSend = total - report.counts.invalid - report.counts.duplicate;
    const active = report.counts.pending + report.counts.held + report.counts.sending + report.counts.outcome_unknown;
    const minutes = insights.firstSentAt && insights.lastSentAt ? (insights.lastSentAt.getTime() - insights.firstSentAt.getTime()) / 60_000 : 0;
    const { explainTwilioError } = await import('../errors/twilio-error-catalog.js');
    return {
      ...reportView(report),
      total,
      done: total - active,
      throughput: {
        sent_last_minute: insights.sentLastMinute,
        average_per_minute: minutes > 0 ? Math.round(((report.counts.sent - 1) / minutes) * 10) / 10 : null,
        paced_per_second: engine.ratePerSecond(report),
        first_sent_at: insights.firstSentAt?.toISOString() ?? null,
        last_sent_at: insights.lastSentAt?.toISOString() ?? null,
      },
      spent_usd: insights.spentUsd,
      estimated_cost_usd: Math.round(perMessage * toSend * 10_000) / 10_000,
      replies: insights.replies,
      opt_outs: insights.optOuts,
      errors: insights.errors.map((e) => ({ error_code: e.code, count: e.count, meaning: (e.code !== null && explainTwilioError(e.code)?.meaning) || null, example: redactSecrets(e.example) })),
    };
  }

  /** Calls `listener` with a campaign's id whenever its progress moves (sends settle, state changes, completion). */
  async watch(listener: (campaignId: string) => void): Promise<() => void> {
    const engine = await this.engine();
    const onProgress = (p: { campaignId: string }) => listener(p.campaignId);
    engine.on('progress', onProgress);
    engine.on('completed', onProgress);
    return () => {
      engine.off('progress', onProgress);
      engine.off('completed', onProgress);
    };
  }

  private fileFailure(error: RecipientFileError): ToolFailure {
    return new ToolFailure({ message: error.message, nextStep: 'Give a local .csv (header row with a "to" column), .json (an array of objects) or .jsonl file.' });
  }

  private async *readable<T>(rows: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* rows;
    } catch (error) {
      throw error instanceof RecipientFileError ? this.fileFailure(error) : error;
    }
  }

  async get(id: string) {
    const report = await (await this.engine()).get(id);
    if (!report) throw new ToolFailure({ message: `There is no campaign ${id}.`, nextStep: 'list_campaigns shows them.' });
    return reportView(report);
  }

  async list(input: { state?: 'running' | 'paused' | 'canceled' | 'completed'; limit?: number }) {
    const campaigns = await (await this.engine()).list({ ...(input.state && { state: input.state }), limit: input.limit ?? 20 });
    return {
      campaigns: campaigns.map((c) => ({ campaign_id: c.id, name: c.name, state: c.state, counts: Object.fromEntries(Object.entries(c.counts).filter(([, n]) => n > 0)), created_at: c.createdAt.toISOString() })),
    };
  }

  async control(input: { campaign_id: string; action: 'pause' | 'resume' | 'cancel' }) {
    const engine = await this.engine();
    const report = input.action === 'pause' ? await engine.pause(input.campaign_id) : input.action === 'resume' ? await engine.resume(input.campaign_id) : await engine.cancel(input.campaign_id);
    if (!report) throw new ToolFailure({ message: `There is no campaign ${input.campaign_id}.`, nextStep: 'list_campaigns shows them.' });
    return reportView(report);
  }

  /** Opt-outs from a CRM's CSV (a `phone` or `to` column; optional `channel`, `reason`), audited like add_opt_out. */
  async importOptOuts(input: { path: string; channel?: 'sms' | 'voice' | 'all' }) {
    const store = await this.store();
    let added = 0;
    let unchanged = 0;
    const rejected: Array<{ row: number; value: string; reason: string }> = [];
    let row = 1;
    const isFile = (() => {
      try {
        return statSync(input.path).isFile();
      } catch {
        return false;
      }
    })();
    if (!isFile) throw new ToolFailure({ message: `${input.path} is not a file this server can read.`, nextStep: 'Give the path of a local CSV file (absolute, or relative to where the server runs).' });
    const source = createReadStream(input.path);
    const parser = source.pipe(parse({ columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()), skip_empty_lines: true, trim: true }));
    // A read error must reach the loop below, not crash the process as an unhandled 'error'.
    source.on('error', (error) => parser.destroy(error));
    try {
      for await (const record of parser as AsyncIterable<Record<string, string>>) {
        row += 1;
        const raw = record.phone ?? record.to ?? record.phone_number ?? '';
        const recipient = canonicalPhoneAddress(raw);
        if (!recipient) {
          if (rejected.length < 50) rejected.push({ row, value: raw, reason: 'not an E.164 number' });
          continue;
        }
        const channel = (['sms', 'voice', 'all'] as const).find((c) => c === record.channel) ?? input.channel ?? 'all';
        const changed = store.applyOptOut({ action: 'add', sender: '*', recipient, source: 'manual', channel, reason: redactSecrets(record.reason ?? `imported from ${input.path}`) }, new Date());
        if (changed) added += 1;
        else unchanged += 1;
      }
    } catch (error) {
      throw new ToolFailure({ message: `${input.path} could not be read as CSV: ${error instanceof Error ? error.message : String(error)}`, nextStep: 'Give a CSV file with a header row and a "phone" (or "to") column.' });
    }
    return { added, unchanged, rejected, rows_read: row - 1 };
  }

  async exportOptOuts(input: { path: string }) {
    const store = await this.store();
    const rows = store.listOptOuts({ limit: 1_000_000 }).map((o) => ({ phone: o.recipient, channel: o.channel, sender: o.sender === '*' ? 'all' : o.sender, source: o.source, keyword: o.keyword ?? '', since: o.createdAt.toISOString() }));
    if (!/\.csv$/i.test(input.path)) throw new ToolFailure({ message: `${input.path} does not end in .csv.`, nextStep: 'Give a new file name ending in .csv.' });
    try {
      // "wx": never overwrite a file that exists (an agent must not clobber one by mistake).
      writeFileSync(input.path, stringify(rows, { header: true, columns: ['phone', 'channel', 'sender', 'source', 'keyword', 'since'] }), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ToolFailure({
        message: code === 'EEXIST' ? `${input.path} exists already; it was not overwritten.` : `${input.path} could not be written (${code ?? String(error)}).`,
        nextStep: 'Give the path of a new .csv file in a directory this server can write to.',
      });
    }
    return { path: input.path, exported: rows.length };
  }
}
