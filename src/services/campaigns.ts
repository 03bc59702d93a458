/**
 * Bulk campaigns: the tools' side of the campaign engine (src/campaigns/). Starting one
 * judges every row (the one number normaliser, duplicates, missing variables), stores them
 * in the durable outbox and returns at once with the counts, the estimated cost and a
 * preview; the engine then sends each recipient through the send pipeline at the sender's
 * throughput, and resumes after a restart. No MCP types here.
 */
import { stringify } from 'csv-stringify/sync';
import { parse } from 'csv-parse';
import { createReadStream, existsSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { CampaignEngine, CampaignReport } from '../campaigns/engine.js';
import { render } from '../campaigns/template.js';
import type { CampaignSpec, RecipientInput } from '../campaigns/types.js';
import { canonicalPhoneAddress } from '../domain/phone-address.js';
import { ToolFailure } from '../errors/tool-failure.js';
import { loadPhoneMetadata, NeedsConfirmation, type PolicyEngine } from '../policy/policy-engine.js';
import { judgeRecipients, readRecipients, RecipientFileError } from '../campaigns/recipients.js';
import { explainTwilioError } from '../errors/twilio-error-catalog.js';
import type { SendPipeline } from '../pipeline/send-pipeline.js';
import { campaignMessage } from './campaign-sender.js';
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
  dry_run?: boolean;
}

const PREVIEW = 3;
/** Rows with problems listed in a result (the counts cover them all). */
const PROBLEMS_LISTED = 20;

/** What judging every row found, before anything is stored or sent (dry runs, campaign caps, confirmation). */
interface Assessment {
  rows: number;
  counts: Record<string, number>;
  /** Recipients who would get a message now or once their quiet hours end. */
  wouldSend: number;
  refusedByRule: Record<string, number>;
  problems: Array<{ row: number; to: string; state: string; reason: string }>;
}

/**
 * Local files an agent names (recipient lists, opt-out CSVs) must lie inside one folder:
 * TWILIO_MCP_FILES_DIR, by default the folder the server was started in. A remote agent
 * must not read /etc/passwd as a recipient list, nor write next to the server's own files.
 */
export function resolveListFile(filesDir: string, path: string, what: string): string {
  const root = realpathOr(resolve(filesDir));
  const full = resolve(root, path);
  // A symlink inside the folder may point outside it: judge the real path when it exists.
  const real = existsSync(full) ? realpathOr(full) : join(realpathOr(dirname(full)), basename(full));
  const rel = relative(root, real);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new ToolFailure({
      message: `${path} is outside the folder this server may read and write ${what} in (${root}).`,
      nextStep: `Put the file in ${root} and give its name, or have the operator set TWILIO_MCP_FILES_DIR to the folder that holds it.`,
    });
  }
  return real;
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

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

const round = (n: number, places = 4) => Math.round(n * 10 ** places) / 10 ** places;

export interface CampaignServiceDefaults {
  from: string | undefined;
  messagingServiceSid: string | undefined;
  whatsappFrom: string | undefined;
  /** Where recipient lists and opt-out CSVs may be read and written (TWILIO_MCP_FILES_DIR; default the working folder). */
  filesDir?: string;
}

export class CampaignService {
  constructor(
    private readonly engine: () => Promise<CampaignEngine>,
    private readonly policy: PolicyEngine,
    private readonly store: () => Promise<Store>,
    private readonly defaults: CampaignServiceDefaults,
    private readonly pipeline?: SendPipeline,
  ) {}

  private file(path: string, what: string): string {
    return resolveListFile(this.defaults.filesDir ?? process.cwd(), path, what);
  }

  /**
   * Judges every row as the engine and the pipeline will (numbers, duplicates, variables,
   * opt-outs, lists, countries, quiet hours), streaming: nothing is stored or sent.
   */
  private async assess(spec: CampaignSpec, template: string | undefined): Promise<Assessment> {
    const counts: Record<string, number> = {};
    const refusedByRule: Record<string, number> = {};
    const problems: Assessment['problems'] = [];
    const seen = new Map<string, number>();
    const add = (state: string) => (counts[state] = (counts[state] ?? 0) + 1);
    const problem = (row: number, to: string, state: string, reason: string) => {
      add(state);
      if (problems.length < PROBLEMS_LISTED) problems.push({ row, to, state, reason });
    };
    let rows = 0;
    let wouldSend = 0;
    for await (const r of this.readable(judgeRecipients(readRecipients(spec.recipients), { campaignId: 'dry-run', channel: spec.channel, template }))) {
      rows += 1;
      if (r.state === 'invalid') {
        problem(r.row, r.to, 'invalid', r.error ?? 'invalid');
        continue;
      }
      const first = r.uniqueKey ? seen.get(r.uniqueKey) : undefined;
      if (first !== undefined) {
        problem(r.row, r.to, 'duplicate', `duplicate of row ${first}`);
        continue;
      }
      if (r.uniqueKey) seen.set(r.uniqueKey, r.row);
      const rendered = template !== undefined ? render(template, r.variables) : undefined;
      const message = campaignMessage(
        {
          campaignId: 'dry-run',
          row: r.row,
          to: r.to,
          channel: spec.channel,
          ...(spec.from && { from: spec.from }),
          ...(spec.messagingServiceSid && { messagingServiceSid: spec.messagingServiceSid }),
          ...(rendered?.ok ? { body: rendered.text } : spec.contentSid ? { contentSid: spec.contentSid, contentVariables: r.variables } : {}),
          idempotencyKey: r.idempotencyKey,
        },
        true,
      );
      try {
        await this.pipeline?.check(message);
        add('pending');
        wouldSend += 1;
      } catch (error) {
        if (!(error instanceof ToolFailure)) throw error;
        const rule = typeof error.extra?.rule === 'string' ? error.extra.rule : 'policy';
        if (rule === 'quiet_hours') {
          // Held until their morning, then sent: counted as sent-later, not as a problem.
          add('held');
          wouldSend += 1;
          continue;
        }
        refusedByRule[rule] = (refusedByRule[rule] ?? 0) + 1;
        problem(r.row, r.to, rule === 'opt_out' ? 'skipped_opt_out' : 'skipped_policy', error.message);
      }
    }
    return { rows, counts, wouldSend, refusedByRule, problems };
  }

  /** USD for one message of the campaign, from the first row that renders. */
  private async perMessageCost(channel: 'sms' | 'whatsapp', sample: { to: string; body: string } | undefined, from: string | undefined, messagingServiceSid: string | undefined): Promise<number> {
    if (!sample) return 0;
    const [{ countSegments }] = await Promise.all([import('../domain/segments.js'), loadPhoneMetadata()]);
    return this.policy.estimateCost({ channel, to: sample.to, from, messagingServiceSid, body: sample.body, segments: channel === 'sms' ? countSegments(sample.body).segments : 1 });
  }

  /** The first rows as they will read, rendered (inline lists, or the file's first rows). */
  private async previewOf(spec: CampaignSpec, template: string | undefined, contentSid: string | undefined): Promise<Array<{ to: string; body: string }>> {
    const preview: Array<{ to: string; body: string }> = [];
    for await (const r of this.readable(readRecipients(spec.recipients))) {
      if (preview.length >= PREVIEW) break;
      const rendered = template ? render(template, r.variables ?? {}) : undefined;
      preview.push({ to: canonicalPhoneAddress(r.to) ?? r.to, body: rendered?.ok ? rendered.text : rendered ? `(not sent: missing ${rendered.missing.join(', ')})` : `(template ${contentSid})` });
    }
    return preview;
  }

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
      recipients: input.recipients
        ? { kind: 'inline', recipients: input.recipients as RecipientInput[] }
        : { kind: 'file', path: this.file(input.recipients_file!, 'recipient lists') },
    };
    const template = input.content_sid ? undefined : input.template;
    const preview = await this.previewOf(spec, template, input.content_sid);
    const sample = preview.find((p) => !p.body.startsWith('('));
    const perMessage = await this.perMessageCost(channel, sample, from, messagingServiceSid);
    const cap = this.policy.campaignCap(input.name);
    const confirm = this.policy.firstContact === 'confirm' && !options.confirmed;

    // Judged in full first when it matters: a dry run, a campaign cap, or a confirmation
    // whose question should give the real count and cost.
    if (input.dry_run || cap || confirm) {
      if (template === undefined && !input.content_sid) {
        throw new ToolFailure({ message: 'A campaign needs a message template (or, on WhatsApp, a content_sid).', nextStep: 'Give the message text, with {{variable}} placeholders for per-recipient values.' });
      }
      const assessment = await this.assess(spec, template);
      const estimated = round(perMessage * assessment.wouldSend);
      if (input.dry_run) {
        return {
          dry_run: true,
          name: input.name,
          state: 'dry_run',
          channel,
          counts: assessment.counts,
          rows: assessment.rows,
          would_send: assessment.wouldSend,
          ...(Object.keys(assessment.refusedByRule).length > 0 && { refused_by_rule: assessment.refusedByRule }),
          problems: assessment.problems,
          estimated_cost_usd: estimated,
          ...(cap && { campaign_cap: { limit: cap.limit, set_by: cap.setBy, within: assessment.wouldSend <= cap.limit } }),
          preview,
          next_step: 'Nothing was sent or stored. Fix the listed rows if needed, then call start_campaign again without dry_run.',
        };
      }
      if (cap && assessment.wouldSend > cap.limit) {
        throw new ToolFailure({
          message: `Campaign "${input.name}" would send ${assessment.wouldSend} messages; its cap is ${cap.limit} (${cap.setBy}). Nothing was sent.`,
          nextStep: `Split the list into campaigns of at most ${cap.limit} recipients, or ask the operator to raise the cap.`,
          extra: { rule: 'campaign_cap', would_send: assessment.wouldSend, limit: cap.limit },
        });
      }
      // Under first_contact "confirm" the user confirms the campaign once, as a whole.
      if (confirm) {
        const first = sample ? ` First message: "${sample.body}" to ${sample.to}.` : '';
        throw new NeedsConfirmation(
          `Start campaign "${input.name}": ${assessment.wouldSend} messages (of ${assessment.rows} rows, after number, duplicate, opt-out and policy checks), about $${estimated.toFixed(2)}?${first}`,
        );
      }
    }
    const engine = await this.engine();
    const report = await engine.create(spec).catch((error: unknown) => {
      throw error instanceof RecipientFileError ? this.fileFailure(error) : error;
    });
    const pending = report.counts.pending + report.counts.held;
    const result = {
      ...(await this.view(engine, report)),
      estimated_cost_usd: round(perMessage * pending),
      problems: await this.problems(engine, report.id),
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
    return { ...result, ...(await this.view(engine, latest)) };
  }

  /** The rows that will not be sent as given (invalid, duplicate), with row number and reason. */
  private async problems(engine: CampaignEngine, id: string) {
    const listed: Array<{ row: number; to: string; state: string; reason: string }> = [];
    for (const state of ['invalid', 'duplicate'] as const) {
      for (const r of await engine.recipients(id, { state, limit: PROBLEMS_LISTED - listed.length })) listed.push({ row: r.row, to: r.to, state, reason: r.error ?? state });
      if (listed.length >= PROBLEMS_LISTED) break;
    }
    return listed;
  }

  /** A campaign as the tools show it: counts, delivery, errors with their meaning, throughput, cost, effects. */
  private async view(engine: CampaignEngine, report: CampaignReport) {
    const insights = await engine.insights(report.id);
    const sent = report.counts.sent;
    const seconds = insights.firstSentAt && insights.lastSentAt ? (insights.lastSentAt.getTime() - insights.firstSentAt.getTime()) / 1000 : 0;
    const remaining = report.counts.pending + report.counts.held + report.counts.sending + report.counts.outcome_unknown;
    const perMessage = sent > 0 ? insights.spentUsd / sent : 0;
    return {
      ...reportView(report),
      errors: insights.errors.map((e) => {
        const explained = e.code !== null ? explainTwilioError(e.code) : undefined;
        return {
          code: e.code,
          count: e.count,
          meaning: explained?.meaning ?? e.example,
          ...(explained?.nextStep && { next_step: explained.nextStep }),
        };
      }),
      throughput: {
        messages_per_second: seconds > 0 ? round(sent / seconds, 2) : 0,
        last_minute: insights.sentLastMinute,
      },
      cost: {
        spent_usd: round(insights.spentUsd),
        // What the rest would cost at the average so far (0 until the first message).
        ...(perMessage > 0 && remaining > 0 && { remaining_estimate_usd: round(perMessage * remaining) }),
        source: 'estimate: the policy\'s prices (or Twilio\'s Pricing API) per message sent; Twilio\'s invoice is the final word',
      },
      replies: insights.replies,
      opt_outs: insights.optOuts,
    };
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
    const engine = await this.engine();
    const report = await engine.get(id);
    if (!report) throw new ToolFailure({ message: `There is no campaign ${id}.`, nextStep: 'list_campaigns shows them.' });
    return this.view(engine, report);
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
    // The state and counts the action left; get_campaign has the rest (errors, cost, effects).
    return reportView(report);
  }

  /** Opt-outs from a CRM's CSV (a `phone` or `to` column; optional `channel`, `reason`), audited like add_opt_out. */
  async importOptOuts(input: { path: string; channel?: 'sms' | 'voice' | 'all' }) {
    const store = await this.store();
    let added = 0;
    let unchanged = 0;
    const rejected: Array<{ row: number; value: string; reason: string }> = [];
    let row = 1;
    const path = this.file(input.path, 'opt-out lists');
    const isFile = (() => {
      try {
        return statSync(path).isFile();
      } catch {
        return false;
      }
    })();
    if (!isFile) throw new ToolFailure({ message: `${input.path} is not a file this server can read.`, nextStep: 'Give the path of a local CSV file (absolute, or relative to where the server runs).' });
    const source = createReadStream(path);
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
        const changed = await store.applyOptOut({ action: 'add', sender: '*', recipient, source: 'manual', channel, reason: redactSecrets(record.reason ?? `imported from ${input.path}`) }, new Date());
        if (changed) added += 1;
        else unchanged += 1;
      }
    } catch (error) {
      throw new ToolFailure({ message: `${input.path} could not be read as CSV: ${error instanceof Error ? error.message : String(error)}`, nextStep: 'Give a CSV file with a header row and a "phone" (or "to") column.' });
    }
    return { added, unchanged, rejected, rows_read: row - 1 };
  }

  async exportOptOuts(input: { path: string }) {
    const path = this.file(input.path, 'opt-out lists');
    const store = await this.store();
    const rows = (await store.listOptOuts({ limit: 1_000_000 })).map((o) => ({ phone: o.recipient, channel: o.channel, sender: o.sender === '*' ? 'all' : o.sender, source: o.source, keyword: o.keyword ?? '', since: o.createdAt.toISOString() }));
    if (!/\.csv$/i.test(input.path)) throw new ToolFailure({ message: `${input.path} does not end in .csv.`, nextStep: 'Give a new file name ending in .csv.' });
    try {
      // "wx": never overwrite a file that exists (an agent must not clobber one by mistake).
      writeFileSync(path, stringify(rows, { header: true, columns: ['phone', 'channel', 'sender', 'source', 'keyword', 'since'] }), { mode: 0o600, flag: 'wx' });
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
