/**
 * The audit log: every tool call with a side effect — time, tool, arguments (message
 * bodies redacted by policy, secrets always), the resulting SID or the error, and which
 * client and session asked. Kept in the store; readable with get_audit_log and exported
 * as JSONL by `mcp-server-twilio audit-export`.
 */
import { ToolFailure } from '../errors/tool-failure.js';
import type { AuditEntry, ReservationState, Store } from '../store/store.js';
import { redactSecrets } from '../util/log.js';
import { redactArguments } from '../util/redact-arguments.js';

export { redactArguments };

export interface AuditView {
  at: string;
  tool: string;
  arguments: Record<string, unknown>;
  result_sid: string | null;
  error: string | null;
  client: string | null;
  session_id: string | null;
  /** Sends only: in_flight, sent, released (Twilio refused: nothing sent) or outcome_unknown. */
  outcome?: ReservationState;
}

export const toAuditView = (e: AuditEntry): AuditView => ({
  at: e.at.toISOString(),
  tool: e.tool,
  arguments: e.arguments,
  result_sid: e.resultSid,
  error: e.error,
  client: e.clientName,
  session_id: e.sessionId,
  ...(e.outcome && { outcome: e.outcome }),
});

/**
 * A refusal's rule (ToolFailure extra.rule: caps, opt_out, allowed_countries, …) is kept in
 * the audit row's error text as a "[rule NAME] " prefix: the audit log has no column for it,
 * and a prefix needs no migration in either store. `refusalRule` reads it back.
 */
const RULE_PREFIX = /^\[rule ([a-z][a-z0-9_]{0,39})\] /;

/** The error text an audit row keeps for a failed tool call. */
export function auditErrorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const rule = error instanceof ToolFailure ? error.extra?.rule : undefined;
  return typeof rule === 'string' && RULE_PREFIX.test(`[rule ${rule}] `) ? `[rule ${rule}] ${message}` : message;
}

/** The rule an audited refusal named, if any. */
export function refusalRule(error: string | null): string | undefined {
  return error ? RULE_PREFIX.exec(error)?.[1] : undefined;
}

export interface RefusalsByRule {
  /** Audited tool calls in the window that failed, refusals or not. */
  failed_calls: number;
  /** Refusals by the rule that made them, most frequent first. */
  by_rule: Array<{ rule: string; count: number; latest_at: string; example: string }>;
}

export class AuditService {
  constructor(
    private readonly store: () => Promise<Store>,
    private readonly redactBodies: boolean,
  ) {}

  async record(entry: { tool: string; args: Record<string, unknown>; resultSid: string | null; error: string | null; client: string | null; sessionId: string | null }) {
    await (await this.store()).appendAudit({
      at: new Date(),
      tool: entry.tool,
      arguments: redactArguments(entry.args, this.redactBodies),
      resultSid: entry.resultSid,
      error: entry.error ? redactSecrets(entry.error) : null,
      clientName: entry.client,
      sessionId: entry.sessionId,
    });
  }

  /** The audited refusals of [start, end), counted by rule (at most `limit` audit rows are read, newest first). */
  async refusalsByRule(window: { start: Date; end: Date }, limit = 10_000): Promise<RefusalsByRule> {
    const entries = (await (await this.store()).listAudit({ since: window.start, limit })).filter((e) => e.at < window.end && e.error);
    const rules = new Map<string, { count: number; latest: AuditEntry }>();
    for (const entry of entries) {
      const rule = refusalRule(entry.error);
      if (!rule) continue;
      const seen = rules.get(rule);
      if (seen) seen.count += 1;
      else rules.set(rule, { count: 1, latest: entry });
    }
    return {
      failed_calls: entries.length,
      by_rule: [...rules]
        .sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]))
        .map(([rule, { count, latest }]) => ({ rule, count, latest_at: latest.at.toISOString(), example: latest.error!.replace(RULE_PREFIX, '') })),
    };
  }

  async list(input: { tool?: string; since?: string; limit?: number }) {
    const since = input.since ? new Date(input.since) : undefined;
    const entries = await (await this.store()).listAudit({ tool: input.tool, since: since && !Number.isNaN(since.getTime()) ? since : undefined, limit: input.limit ?? 50 });
    return { entries: entries.map(toAuditView) };
  }
}
