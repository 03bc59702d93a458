/**
 * The audit log: every tool call with a side effect — time, tool, arguments (message
 * bodies redacted by policy, secrets always), the resulting SID or the error, and which
 * client and session asked. Kept in the store; readable with get_audit_log and exported
 * as JSONL by `mcp-server-twilio audit-export`.
 */
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

  async list(input: { tool?: string; since?: string; limit?: number }) {
    const since = input.since ? new Date(input.since) : undefined;
    const entries = await (await this.store()).listAudit({ tool: input.tool, since: since && !Number.isNaN(since.getTime()) ? since : undefined, limit: input.limit ?? 50 });
    return { entries: entries.map(toAuditView) };
  }
}
