/**
 * The campaign engine: imports recipients into the Outbox, then a bounded pool of workers
 * claims due rows, paces them through the rate limiter, sends each through the
 * CampaignSender (the send pipeline) and settles the outcome. Everything a campaign means
 * lives here — render, dedupe key, refusals, rate, retry, reconcile — so the SQLite and the
 * PostgreSQL outbox behave the same.
 *
 * Exactly-once, and its limit. A row is claimed (on disk) before its send leaves. A send
 * whose outcome is unknown (the answer was lost, or the process died with the row claimed)
 * is NEVER retried blindly: after `reconcileDelayMs` the engine asks `findSent` (same to,
 * from and body since the attempt started); found → sent with that SID, not found → pending
 * again. The limit: a message Twilio accepted but does not list yet (its list lags the
 * create by seconds) looks "not found" and would be sent again; the delay makes that
 * unlikely. A resend after a reconciliation is sent with allow_duplicate (services/
 * campaign-sender.ts): the lost attempt's own reservation would otherwise make the
 * pipeline's duplicate rule refuse it, and the recipient would get nothing.
 *
 * Two ways rows arrive. On an outbox that is polled (SQLite), the engine's workers claim due
 * rows. On one that pushes (PostgreSQL's job queue, PushOutbox), the outbox schedules each
 * row and hands it over claimed; the engine does the same with it (handle()). Several
 * instances on one database then share the work, and their rate limits too when they share
 * a RateLimits (options.rateLimits: the PostgreSQL buckets).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ToolFailure } from '../errors/tool-failure.js';
import { log } from '../util/log.js';
import { ACTIVE_STATES, isPushOutbox, type Campaign, type CampaignInsights, type CampaignState, type DueRow, type ListFilter, type Outbox, type RecipientRow, type Settlement } from '../store/outbox.js';
import { defaultRatePerSecond, RateLimiter, type RateLimits, type RateRule } from './rate-limiter.js';
import { judgeRecipients, readRecipients } from './recipients.js';
import { render } from './template.js';
import { realClock, type CampaignProgress, type CampaignSend, type CampaignSender, type CampaignSpec, type Clock } from './types.js';
import { processIsAlive } from '../pipeline/send-pipeline.js';

export interface CampaignEngineOptions {
  /** Sends in flight at once (workers). Default 4. */
  concurrency?: number;
  /** Attempts of a row before it is failed_send (retryable failures only). Default 5. */
  maxAttempts?: number;
  /** Backoff of a retry: base × 2^(attempt−1), capped, with equal jitter. Defaults 2 s and 5 min. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Wait before looking for a send of unknown outcome (Twilio's list lags the create). Default 15 s. */
  reconcileDelayMs?: number;
  /** How far before the attempt started the reconciliation looks (clock skew with Twilio). Default 2 min. */
  reconcileSlackMs?: number;
  /** Sends per second for the whole account, across senders and campaigns; 0 (default): no account limit. */
  accountRatePerSecond?: number;
  /** Sends per second by sender (number or MG SID), overriding the documented defaults. */
  senderRates?: Record<string, number>;
  /** How many numbers a Messaging Service pools, for its default rate (unknown: 1). */
  messagingServiceSenders?: number;
  /**
   * Where the token buckets live. Default: this process's memory (one instance). Instances
   * sharing a PostgreSQL database pass the outbox's shared buckets (PostgresOutbox.rateLimits),
   * or each would pace its senders alone.
   */
  rateLimits?: RateLimits;
  /** How long an idle worker waits before looking for due rows again (a polled outbox). Default 1 s. */
  pollMs?: number;
  /** How often the rows of other (dead) processes are looked for while running. Default 60 s. */
  staleCheckMs?: number;
  /** Least time between two progress events of one campaign. Default 1 s. */
  progressIntervalMs?: number;
  /** Recipient rows per import transaction. Default 500. */
  importBatchSize?: number;
  clock?: Clock;
  random?: () => number;
  /** The pid claims are recorded under (default process.pid; tests simulate other processes). */
  ownerPid?: number;
  pidAlive?: (pid: number) => boolean;
  /** Ids for new campaigns (default "CP" + 32 hex). */
  newId?: () => string;
}

export interface CampaignReport extends Campaign {
  /** Of the sent rows: how many each delivery status (from status callbacks; "unknown" before the first). */
  delivery: Record<string, number>;
}

export interface CampaignEngineEvents {
  progress: [CampaignProgress];
  completed: [CampaignProgress];
  /** A worker's failure that is not a row's outcome (the outbox could not be read, say). */
  error: [Error];
}

type Work = DueRow;

/** Twilio error 21610: the recipient replied STOP to this sender (Twilio's own opt-out list). */
const UNSUBSCRIBED = 21610;

export class CampaignEngine extends EventEmitter<CampaignEngineEvents> {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly limiter: RateLimits;
  private readonly pid: number;
  private readonly concurrency: number;
  private readonly campaigns = new Map<string, Campaign>();
  private readonly lastProgress = new Map<string, number>();
  private buffer: Work[] = [];
  private refilling: Promise<void> | undefined;
  private workers: Promise<void>[] = [];
  private waiters = new Set<() => void>();
  private running = false;
  /** The outbox hands rows to handle() (PushOutbox) instead of workers claiming them. */
  private pushing = false;
  private lastStaleCheck = 0;

  constructor(
    private readonly outbox: Outbox,
    private readonly sender: CampaignSender,
    private readonly options: CampaignEngineOptions = {},
  ) {
    super();
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? Math.random;
    this.limiter = options.rateLimits ?? new RateLimiter(() => this.clock.now());
    this.pid = options.ownerPid ?? process.pid;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
  }

  /**
   * Judges and stores the recipients (streamed; see recipients.ts) and starts the campaign.
   * Rows that cannot be sent are stored as invalid or duplicate with their reason.
   */
  async create(spec: CampaignSpec): Promise<CampaignReport> {
    const template = spec.contentSid ? undefined : spec.template;
    if (spec.contentSid && spec.channel !== 'whatsapp') {
      throw new ToolFailure({ message: 'content_sid (a content template) is for WhatsApp campaigns.', nextStep: 'Use channel "whatsapp", or give a body template instead.' });
    }
    if (template === undefined || template.trim() === '') {
      if (!spec.contentSid) throw new ToolFailure({ message: 'A campaign needs a message template (or, on WhatsApp, a content_sid).', nextStep: 'Give the message text, with {{variable}} placeholders for per-recipient values.' });
    }
    if (spec.ratePerSecond !== undefined && !(spec.ratePerSecond >= 0)) {
      throw new ToolFailure({ message: `rate_per_second must be 0 (no limit) or more; got ${spec.ratePerSecond}.`, nextStep: 'Leave it out to use the sender\'s documented throughput.' });
    }
    const id = this.options.newId?.() ?? `CP${randomUUID().replace(/-/g, '')}`;
    const rows = judgeRecipients(readRecipients(spec.recipients), { campaignId: id, channel: spec.channel, template });
    const campaign = await this.outbox.createCampaign(
      {
        id,
        name: spec.name,
        channel: spec.channel,
        template: template ?? null,
        contentSid: spec.contentSid ?? null,
        from: spec.from ?? null,
        messagingServiceSid: spec.messagingServiceSid ?? null,
        ratePerSecond: spec.ratePerSecond ?? null,
        createdAt: new Date(this.clock.now()),
      },
      rows,
      { batchSize: this.options.importBatchSize, loaderPid: this.pid },
    );
    this.campaigns.set(id, campaign);
    // A list with nothing to send is done at once.
    await this.completeIfDone(id);
    this.wake();
    return this.get(id) as Promise<CampaignReport>;
  }

  /**
   * Starts the workers. Rows a dead process left `sending` become outcome_unknown and are
   * reconciled before anything else; running campaigns carry on where they stopped.
   */
  async start(): Promise<void> {
    if (this.running) return;
    // At start, rows under this engine's own pid are a previous life's (a restarted
    // container often gets the same pid): treated as dead.
    await this.outbox.releaseStale((pid) => pid !== this.pid && this.pidAlive(pid), new Date(this.clock.now()));
    this.lastStaleCheck = this.clock.now();
    this.running = true;
    if (isPushOutbox(this.outbox)) {
      this.pushing = true;
      try {
        await this.outbox.startPush((due) => this.handle(due), { ownerPid: this.pid, concurrency: this.concurrency, now: () => this.clock.now() });
      } catch (error) {
        this.running = false;
        this.pushing = false;
        throw error;
      }
      return;
    }
    this.workers = Array.from({ length: this.concurrency }, () => this.work());
  }

  /**
   * Stops claiming and waits for the sends in flight to settle. Claimed rows not sent yet
   * go back to pending (nothing left for them); rows being reconciled are let go.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    if (this.pushing) {
      // The rows in flight see running = false: those not sent yet are given back.
      this.pushing = false;
      if (isPushOutbox(this.outbox)) await this.outbox.stopPush();
      return;
    }
    await Promise.all(this.workers);
    this.workers = [];
    const now = new Date(this.clock.now());
    for (const item of this.buffer.splice(0)) await this.giveBack(item, now);
  }

  async pause(id: string): Promise<CampaignReport | undefined> {
    const report = await this.changeState(id, 'paused');
    // Workers waiting for a rate slot let their rows of this campaign go now.
    this.wake();
    return report;
  }

  async resume(id: string): Promise<CampaignReport | undefined> {
    const report = await this.changeState(id, 'running');
    this.wake();
    return report;
  }

  /** Cancels: pending and held rows become canceled; sends in flight finish and are recorded. */
  async cancel(id: string): Promise<CampaignReport | undefined> {
    const report = await this.changeState(id, 'canceled');
    this.wake();
    return report;
  }

  /** The campaign with its counts per state and delivery statuses. */
  async get(id: string): Promise<CampaignReport | undefined> {
    const campaign = await this.outbox.getCampaign(id);
    if (!campaign) return undefined;
    this.campaigns.set(id, campaign);
    return { ...campaign, delivery: await this.outbox.deliveryCounts(id) };
  }

  async list(filter?: { state?: CampaignState; limit?: number }): Promise<Campaign[]> {
    return this.outbox.listCampaigns(filter);
  }

  /** A campaign's rows in one state (e.g. the invalid ones, to list their reasons). */
  async recipients(id: string, filter: ListFilter): Promise<RecipientRow[]> {
    return this.outbox.listRecipients(id, filter);
  }

  /** Errors by code, throughput, spend, and the replies and opt-outs the campaign caused. */
  async insights(id: string): Promise<CampaignInsights> {
    return this.outbox.insights(id, new Date(this.clock.now()));
  }

  /** The sends per second this campaign's sender is paced at (0: no limit). */
  ratePerSecond(campaign: Campaign): number {
    return this.rateRules(campaign)[0]!.perSecond;
  }

  private async changeState(id: string, state: CampaignState): Promise<CampaignReport | undefined> {
    const changed = await this.outbox.setCampaignState(id, state);
    const report = await this.get(id);
    if (!report) return undefined;
    if (changed) this.emitProgress(report, true);
    if (changed && state === 'running') await this.completeIfDone(id);
    return report;
  }

  private pidAlive(pid: number): boolean {
    return (this.options.pidAlive ?? processIsAlive)(pid);
  }

  // ---- workers -----------------------------------------------------------------------

  private async work(): Promise<void> {
    while (this.running) {
      try {
        await this.checkStale();
        const item = await this.next();
        if (!item) {
          await this.idle(this.options.pollMs ?? 1000);
          continue;
        }
        if (!this.running) {
          await this.giveBack(item, new Date(this.clock.now()));
          continue;
        }
        if (item.kind === 'reconcile') await this.reconcile(item.row);
        else await this.send(item.row);
      } catch (error) {
        this.report(error, `it carries on after ${this.options.pollMs ?? 1000} ms`);
        await this.idle(this.options.pollMs ?? 1000);
      }
    }
  }

  /** One row the outbox handed over (push mode): the same as a worker does with a claimed row. */
  private async handle(due: DueRow): Promise<void> {
    try {
      await this.checkStale();
      if (!this.running || due.signal?.aborted) {
        await this.giveBack(due, new Date(this.clock.now()));
        return;
      }
      if (due.kind === 'reconcile') await this.reconcile(due.row);
      else await this.send(due.row, due.signal);
    } catch (error) {
      this.report(error, 'the outbox reconciles the row');
      throw error;
    }
  }

  private report(error: unknown, after: string): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    // An 'error' event nobody listens to would throw out of the worker: log it instead.
    if (this.listenerCount('error') > 0) this.emit('error', failure);
    else log.error(`campaign worker: ${failure.message} (${after})`);
  }

  /** One claim at a time for the whole pool: reconciliations first, then due rows. */
  private async next(): Promise<Work | undefined> {
    if (this.buffer.length === 0) {
      if (this.refilling) {
        // Another worker is claiming; its failure is reported once, by it.
        await this.refilling.catch(() => undefined);
      } else {
        this.refilling = this.refill().finally(() => (this.refilling = undefined));
        await this.refilling;
      }
    }
    return this.buffer.shift();
  }

  private async refill(): Promise<void> {
    if (!this.running) return;
    const now = new Date(this.clock.now());
    const room = this.concurrency;
    const unknown = await this.outbox.claimUnknown(room, now, this.pid);
    const due = unknown.length < room ? await this.outbox.claimBatch(room - unknown.length, now, this.pid) : [];
    this.buffer.push(...unknown.map((row) => ({ kind: 'reconcile' as const, row })), ...due.map((row) => ({ kind: 'send' as const, row })));
  }

  private async checkStale(): Promise<void> {
    const every = this.options.staleCheckMs ?? 60_000;
    if (this.clock.now() - this.lastStaleCheck < every) return;
    this.lastStaleCheck = this.clock.now();
    await this.outbox.releaseStale((pid) => pid === this.pid || this.pidAlive(pid), new Date(this.clock.now()));
  }

  /** Waits `ms` of the engine's clock, or less when woken (new campaign, resume, stop, or `signal`). */
  private idle(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done);
      void this.clock.sleep(ms).then(done);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** A claimed row this engine will not work on after all: nothing was sent for it. */
  private async giveBack(item: Work, now: Date): Promise<void> {
    const settlement: Settlement =
      item.kind === 'reconcile'
        ? { state: 'outcome_unknown', nextAttemptAt: now, error: item.row.error ?? 'reconciliation interrupted' }
        : { state: 'pending', nextAttemptAt: now, error: item.row.error, notAnAttempt: true };
    await this.outbox.settle(item.row, this.pid, settlement, now);
  }

  private async campaignOf(id: string): Promise<Campaign | undefined> {
    return this.campaigns.get(id) ?? (await this.get(id));
  }

  /** The message for a row, rendered now (bodies are never kept: memory stays flat). */
  private messageFor(campaign: Campaign, row: RecipientRow): CampaignSend | string {
    const base: CampaignSend = {
      campaignId: campaign.id,
      row: row.row,
      to: row.to,
      channel: campaign.channel,
      ...(campaign.from && { from: campaign.from }),
      ...(campaign.messagingServiceSid && { messagingServiceSid: campaign.messagingServiceSid }),
      idempotencyKey: row.idempotencyKey,
      attempt: row.attempts,
    };
    if (campaign.contentSid) return { ...base, contentSid: campaign.contentSid, contentVariables: row.variables };
    const rendered = render(campaign.template ?? '', row.variables);
    return rendered.ok ? { ...base, body: rendered.text } : `missing variable ${rendered.missing.join(', ')}`;
  }

  private rateRules(campaign: Campaign): RateRule[] {
    const rules: RateRule[] = [];
    const key = this.senderKey(campaign);
    const perSecond =
      campaign.ratePerSecond ??
      this.options.senderRates?.[key] ??
      defaultRatePerSecond(campaign, { messagingServiceSenders: this.options.messagingServiceSenders });
    rules.push({ key, perSecond });
    const account = this.options.accountRatePerSecond ?? 0;
    if (account > 0) rules.push({ key: 'account', perSecond: account });
    return rules;
  }

  private senderKey(campaign: Campaign): string {
    return campaign.messagingServiceSid ?? campaign.from ?? 'default sender';
  }

  private async send(row: RecipientRow, signal?: AbortSignal): Promise<void> {
    const campaign = await this.campaignOf(row.campaignId);
    const now = () => new Date(this.clock.now());
    if (!campaign || campaign.state !== 'running') {
      // Paused or canceled since the claim: nothing went out.
      const settlement: Settlement = campaign?.state === 'canceled' ? { state: 'canceled', error: 'campaign canceled' } : { state: 'pending', nextAttemptAt: now(), notAnAttempt: true };
      await this.outbox.settle(row, this.pid, settlement, now());
      return;
    }
    const message = this.messageFor(campaign, row);
    if (typeof message === 'string') {
      await this.finish(row, { state: 'failed_send', error: `row ${row.row}: ${message}` });
      return;
    }
    // The slot is this row's: waited out in full (a wake-up for new work does not cut it short),
    // unless stopping, or unless the campaign was paused or canceled meanwhile (several
    // workers may hold rows waiting for their slots: none of them may go out after a pause).
    const reservedAt = this.clock.now();
    const slot = reservedAt + (await this.limiter.reserve(this.rateRules(campaign), reservedAt));
    const stillRunning = () => this.campaigns.get(row.campaignId)?.state === 'running';
    while (this.running && !signal?.aborted && stillRunning() && this.clock.now() < slot) await this.idle(slot - this.clock.now(), signal);
    if (!this.running || signal?.aborted) {
      await this.giveBack({ kind: 'send', row }, now());
      return;
    }
    if (!stillRunning()) {
      const state = (await this.campaignOf(row.campaignId))?.state;
      await this.outbox.settle(row, this.pid, state === 'canceled' ? { state: 'canceled', error: 'campaign canceled' } : { state: 'pending', nextAttemptAt: now(), notAnAttempt: true }, now());
      return;
    }
    let outcome: Settlement;
    try {
      const { sid } = await this.sender.send(message);
      outcome = { state: 'sent', messageSid: sid };
    } catch (error) {
      outcome = await this.afterFailure(campaign, row, error);
    }
    await this.finish(row, outcome);
  }

  /** What a failed send means for its row (see the module comment for the unknown case). */
  private async afterFailure(campaign: Campaign, row: RecipientRow, error: unknown): Promise<Settlement> {
    const nowMs = this.clock.now();
    const at = (ms: number) => new Date(nowMs + ms);
    if (!(error instanceof ToolFailure)) {
      // Not the pipeline's answer (a bug, a crash inside the sender): it may have gone out.
      return { state: 'outcome_unknown', nextAttemptAt: at(this.reconcileDelay()), error: `unexpected error: ${error instanceof Error ? error.message : String(error)}` };
    }
    const failure = error;
    const code = failure.twilioCode ?? null;
    if (failure.outcomeUnknown) return { state: 'outcome_unknown', nextAttemptAt: at(this.reconcileDelay()), error: failure.message, errorCode: code };

    const rule = typeof failure.extra?.rule === 'string' ? failure.extra.rule : undefined;
    if (rule === 'opt_out' || rule === 'do_not_call' || code === UNSUBSCRIBED) return { state: 'skipped_opt_out', error: failure.message, errorCode: code };
    if (rule === 'quiet_hours') {
      // Held, never skipped: the person gets it when their morning comes.
      const resumes = dateFrom(failure.extra?.resumes_at) ?? at(3_600_000);
      return { state: 'held', nextAttemptAt: resumes, error: failure.message, notAnAttempt: true };
    }
    if (rule === 'caps') {
      // A cap resets at a known time; the rest of the campaign waits for it too.
      const resets = dateFrom(failure.extra?.resets_at) ?? at(3_600_000);
      await this.outbox.setCampaignResumeAt(campaign.id, resets);
      return { state: 'held', nextAttemptAt: resets, error: failure.message, notAnAttempt: true };
    }
    if (rule) return { state: 'skipped_policy', error: `${rule}: ${failure.message}` };

    const retry = this.retryDelay(failure, row.attempts);
    if (retry === 'unknown') return { state: 'outcome_unknown', nextAttemptAt: at(this.reconcileDelay()), error: failure.message, errorCode: code };
    if (retry !== undefined) {
      if (row.attempts >= (this.options.maxAttempts ?? 5)) {
        return { state: 'failed_send', error: `gave up after ${row.attempts} attempts: ${failure.message}`, errorCode: code };
      }
      if (failure.httpStatus === 429) await this.limiter.blockUntil(this.senderKey(campaign), nowMs + retry);
      return { state: 'pending', nextAttemptAt: at(retry), error: failure.message, errorCode: code };
    }
    return { state: 'failed_send', error: failure.message, errorCode: code };
  }

  /**
   * ms before a retry, 'unknown' when the failure does not prove nothing was sent, or
   * undefined when it is not worth retrying. 429 honours Retry-After (extra.retry_after_seconds);
   * 500/503 and a refused connection (nothing arrived) back off; 502/504 come from a proxy that
   * may have passed the request on, so they are reconciled first.
   */
  private retryDelay(failure: ToolFailure, attempts: number): number | 'unknown' | undefined {
    const status = failure.httpStatus;
    if (status === 429) {
      const asked = Number(failure.extra?.retry_after_seconds);
      return Number.isFinite(asked) && asked >= 0 ? Math.round(asked * 1000) : this.backoff(attempts);
    }
    if (status === 502 || status === 504) return 'unknown';
    if (status !== undefined && status >= 500) return this.backoff(attempts);
    if (status === undefined && (failure.extra?.not_sent === true || failure.message.startsWith('Could not reach Twilio'))) return this.backoff(attempts);
    return undefined;
  }

  private backoff(attempt: number): number {
    const base = this.options.backoffBaseMs ?? 2000;
    const ceiling = Math.min(this.options.backoffMaxMs ?? 300_000, base * 2 ** Math.max(0, attempt - 1));
    // Equal jitter: never zero, and a burst of rows does not retry in lockstep.
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  private reconcileDelay(): number {
    return this.options.reconcileDelayMs ?? 15_000;
  }

  private async reconcile(row: RecipientRow): Promise<void> {
    const campaign = await this.campaignOf(row.campaignId);
    const now = () => new Date(this.clock.now());
    const message = campaign ? this.messageFor(campaign, row) : 'campaign not found';
    if (typeof message === 'string') {
      await this.finish(row, { state: 'failed_send', error: `could not reconcile: ${message}` });
      return;
    }
    const started = row.attemptStartedAt ?? row.updatedAt;
    const since = new Date(started.getTime() - (this.options.reconcileSlackMs ?? 120_000));
    let outcome: Settlement;
    try {
      const sid = await this.sender.findSent(message, since);
      if (sid) outcome = { state: 'sent', messageSid: sid };
      else if (campaign!.state === 'canceled') outcome = { state: 'canceled', error: 'campaign canceled (the lost attempt did not go out)' };
      else outcome = { state: 'pending', nextAttemptAt: now(), error: 'the lost attempt did not go out; sending again' };
    } catch (error) {
      // Could not look: still unknown, look again later (never send blindly).
      const reason = error instanceof Error ? error.message : String(error);
      outcome = { state: 'outcome_unknown', nextAttemptAt: new Date(this.clock.now() + this.backoff(row.attempts)), error: `reconciliation failed: ${reason}` };
    }
    await this.finish(row, outcome);
  }

  private async finish(row: RecipientRow, outcome: Settlement): Promise<void> {
    const now = new Date(this.clock.now());
    let settlement = outcome;
    const campaign = this.campaigns.get(row.campaignId);
    if (campaign?.state === 'canceled' && (outcome.state === 'pending' || outcome.state === 'held')) {
      settlement = { state: 'canceled', error: 'campaign canceled' };
    }
    const settled = await this.outbox.settle(row, this.pid, settlement, now);
    if (!settled) return;
    if (!(await this.completeIfDone(row.campaignId))) {
      const report = await this.progressIfDue(row.campaignId);
      if (report) this.emitProgress(report, false);
    }
  }

  private async completeIfDone(id: string): Promise<boolean> {
    if (!(await this.outbox.completeIfDone(id))) return false;
    const report = await this.get(id);
    if (report) {
      const progress = this.emitProgress(report, true);
      this.emit('completed', progress);
    }
    return true;
  }

  private async progressIfDue(id: string): Promise<CampaignReport | undefined> {
    const last = this.lastProgress.get(id);
    if (last !== undefined && this.clock.now() - last < (this.options.progressIntervalMs ?? 1000)) return undefined;
    this.lastProgress.set(id, this.clock.now());
    const campaign = await this.outbox.getCampaign(id);
    if (campaign) this.campaigns.set(id, campaign);
    return campaign && { ...campaign, delivery: {} };
  }

  private emitProgress(campaign: Campaign, force: boolean): CampaignProgress {
    const total = Object.values(campaign.counts).reduce((a, b) => a + b, 0);
    const active = ACTIVE_STATES.reduce((sum, s) => sum + campaign.counts[s], 0);
    const progress: CampaignProgress = { campaignId: campaign.id, state: campaign.state, counts: campaign.counts, done: total - active, total };
    if (force) this.lastProgress.set(campaign.id, this.clock.now());
    this.emit('progress', progress);
    return progress;
  }
}

function dateFrom(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
