/**
 * What the caps, the duplicate check and the first-contact rule need to remember: every
 * send Twilio accepted. The engine keeps no counts of its own, so whatever persists the
 * ledger (the SQLite store) is what makes caps hold across restarts.
 *
 * The store implements this interface structurally (store.ts), so the policy layer does
 * not depend on the store. Counts and spend come back from one call (`sendTotals`) because
 * the cap check needs all of them on every send and the store answers in one query.
 */
import { createHash } from 'node:crypto';

export type SendKind = 'message' | 'call';

export interface SendRecord {
  kind: SendKind;
  /** E.164, without a `whatsapp:` prefix, so one person is one recipient across channels. */
  to: string;
  /** sha256 hex of the body (see hashBody); null for calls and bodiless sends. */
  bodyHash: string | null;
  sid: string;
  /** USD, from the policy's price table. */
  estimatedCost: number;
  at: Date;
}

/** Counts since the start of the current UTC hour / day (calendar windows, see policy-engine.ts). */
export interface SendTotals {
  messagesThisHour: number;
  messagesToday: number;
  callsToday: number;
  /** Estimated USD of messages and calls together. */
  spendToday: number;
}

export interface EarlierSend {
  sid: string;
  at: Date;
}

export interface SendLedger {
  recordSend(record: SendRecord): void;
  /** Sends at or after `hourStart` / `dayStart` (`hourStart` is never before `dayStart`). */
  sendTotals(hourStart: Date, dayStart: Date): SendTotals;
  /** The latest send of the same body to `to` at or after `since`. */
  findRecentSend(to: string, bodyHash: string, since: Date): EarlierSend | undefined;
  /** Whether anything was ever sent to `to` (message or call). */
  hasContacted(to: string): boolean;
}

/** The duplicate check compares hashes, so the ledger never holds message text. */
export function hashBody(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * A ledger that lives as long as the process: for tests and for dry runs, where nothing is
 * sent and nothing should be remembered on disk.
 */
export class InMemorySendLedger implements SendLedger {
  private readonly sends: SendRecord[] = [];

  recordSend(record: SendRecord): void {
    this.sends.push({ ...record, at: new Date(record.at) });
  }

  sendTotals(hourStart: Date, dayStart: Date): SendTotals {
    const totals: SendTotals = { messagesThisHour: 0, messagesToday: 0, callsToday: 0, spendToday: 0 };
    for (const send of this.sends) {
      if (send.at < dayStart) continue;
      totals.spendToday += send.estimatedCost;
      if (send.kind === 'call') totals.callsToday++;
      else {
        totals.messagesToday++;
        if (send.at >= hourStart) totals.messagesThisHour++;
      }
    }
    return totals;
  }

  findRecentSend(to: string, bodyHash: string, since: Date): EarlierSend | undefined {
    let latest: SendRecord | undefined;
    for (const send of this.sends) {
      if (send.to !== to || send.bodyHash !== bodyHash || send.at < since) continue;
      if (!latest || send.at >= latest.at) latest = send;
    }
    return latest && { sid: latest.sid, at: latest.at };
  }

  hasContacted(to: string): boolean {
    return this.sends.some((send) => send.to === to);
  }

  /** Everything recorded, oldest first (for tests and dry-run reports). */
  records(): readonly SendRecord[] {
    return this.sends;
  }
}
