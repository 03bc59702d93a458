/**
 * Test doubles for the campaign engine: a fake clock advanced by the test, a fake
 * CampaignSender that records what "reached a person" and fails as scripted, and outbox
 * files in temp directories.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { CampaignEngine } from '../../src/campaigns/engine.js';
import type { CampaignSend, CampaignSender, Clock } from '../../src/campaigns/types.js';
import { ToolFailure } from '../../src/errors/tool-failure.js';
import type { NewCampaign, NewRecipient, Outbox } from '../../src/store/outbox.js';
import { openSqliteOutbox } from '../../src/store/sqlite-outbox.js';

export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

export class FakeClock implements Clock {
  private timers: Array<{ at: number; resolve: () => void }> = [];
  constructor(private t = Date.parse('2026-03-02T15:00:00Z')) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.timers.push({ at: this.t + Math.max(0, ms), resolve }));
  }
  /** Moves time forward, firing due timers in order and letting what they wake run. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.resolve();
      await flush();
    }
    this.t = target;
    await flush();
  }
}

/** What the fake does with one send attempt. */
export type Fault =
  | { kind: 'refuse'; rule: string; extra?: Record<string, unknown> }
  | { kind: 'http'; status: number; retryAfterSeconds?: number; code?: number }
  /** Twilio accepted it, the answer was lost. */
  | { kind: 'unknown-sent' }
  /** The request never got through, but the caller cannot know. */
  | { kind: 'unknown-not-sent' }
  /** The process "dies" while Twilio holds the request: never answers; `sent` says whether it went out. */
  | { kind: 'hang'; sent: boolean };

export interface Delivered {
  to: string;
  body: string | undefined;
  sid: string;
  at: number;
}

export class FakeSender implements CampaignSender {
  readonly delivered: Delivered[] = [];
  readonly attempts: Array<{ to: string; at: number; attempt: number | undefined }> = [];
  findSentCalls = 0;
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    private readonly script: (message: CampaignSend, attemptForTo: number) => Fault | undefined = () => undefined,
  ) {}

  async send(message: CampaignSend): Promise<{ sid: string }> {
    const attemptForTo = this.attempts.filter((a) => a.to === message.to).length + 1;
    this.attempts.push({ to: message.to, at: this.clock.now(), attempt: message.attempt });
    const fault = this.script(message, attemptForTo);
    if (!fault) return { sid: this.deliver(message) };
    switch (fault.kind) {
      case 'refuse':
        throw new ToolFailure({ message: `refused by ${fault.rule}`, extra: { rule: fault.rule, ...fault.extra } });
      case 'http':
        throw new ToolFailure({
          message: `Twilio refused the request: HTTP ${fault.status}`,
          httpStatus: fault.status,
          twilioCode: fault.code,
          ...(fault.retryAfterSeconds !== undefined && { extra: { retry_after_seconds: fault.retryAfterSeconds } }),
        });
      case 'unknown-sent':
        this.deliver(message);
        throw new ToolFailure({ message: 'The answer was lost.', outcomeUnknown: true });
      case 'unknown-not-sent':
        throw new ToolFailure({ message: 'The answer was lost.', outcomeUnknown: true });
      case 'hang':
        if (fault.sent) this.deliver(message);
        return new Promise(() => {});
    }
  }

  async findSent(message: CampaignSend, since: Date): Promise<string | undefined> {
    this.findSentCalls++;
    return this.delivered.find((d) => d.to === message.to && d.body === message.body && d.at >= since.getTime())?.sid;
  }

  private deliver(message: CampaignSend): string {
    const sid = `SM${(++this.seq).toString(16).padStart(32, '0')}`;
    this.delivered.push({ to: message.to, body: message.body, sid, at: this.clock.now() });
    return sid;
  }

  /** How many messages reached each number. */
  perRecipient(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const d of this.delivered) counts.set(d.to, (counts.get(d.to) ?? 0) + 1);
    return counts;
  }
}

/** A pid no process has: a child that already exited. */
export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid!;
}

export function tempOutboxes() {
  const dirs: string[] = [];
  const open: Outbox[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    dir(): string {
      const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-campaign-'));
      dirs.push(dir);
      return dir;
    },
    file(): string {
      return join(this.dir(), 'store.sqlite');
    },
    open(file: string): Outbox {
      const outbox = openSqliteOutbox(file);
      open.push(outbox);
      return outbox;
    },
  };
}

/** Advances the clock in steps until the campaign completes (bounded in steps). */
export async function runToCompletion(engine: CampaignEngine, clock: FakeClock, campaignId: string, stepMs = 1000, maxSteps = 5000): Promise<void> {
  for (let i = 0; i < maxSteps; i++) {
    const report = await engine.get(campaignId);
    if (report?.state === 'completed') return;
    await clock.advance(stepMs);
  }
  const report = await engine.get(campaignId);
  throw new Error(`campaign ${campaignId} did not complete: ${JSON.stringify(report?.counts)}`);
}

export const numbers = (n: number, start = 0) => Array.from({ length: n }, (_, i) => `+1415555${String(1000 + start + i).padStart(4, '0')}`);

/** The moment outbox tests create their campaigns at, and one second later (when rows are due). */
export const T0 = new Date('2026-03-02T15:00:00Z');
export const LATER = new Date(T0.getTime() + 1000);

/** A plain SMS campaign as the engine would store it: id and name `id`, no rate limit. */
export const newCampaign = (id: string, createdAt: Date = T0): NewCampaign => ({
  id,
  name: id,
  channel: 'sms',
  template: 'hi',
  contentSid: null,
  from: '+14155550000',
  messagingServiceSid: null,
  ratePerSecond: 0,
  createdAt,
});

/** `n` pending rows +1{area}555000i, keyed as the engine keys them (`id:row`, the number). */
export function* pendingRows(n: number, id: string, area = '212'): Generator<NewRecipient> {
  for (let i = 1; i <= n; i++) {
    const to = `+1${area}555${String(i).padStart(4, '0')}`;
    yield { row: i, to, variables: {}, state: 'pending', error: null, idempotencyKey: `${id}:${i}`, uniqueKey: to };
  }
}
