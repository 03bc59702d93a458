/**
 * What the caps, the duplicate check and the first-contact rule need to remember: every
 * send Twilio accepted. The engine keeps no counts of its own, so whatever persists the
 * ledger (the store) is what makes caps hold across restarts.
 *
 * The ledger is a slice of the store's interface (types only: policy sits above the store),
 * so every store adapter is checked against it at compile time. The rules read one
 * `LedgerSnapshot` (totals, the earlier identical send, first contact) named by
 * `LedgerKeys`: inside the reserving transaction the store hands it to the decision; a
 * dry run reads the same snapshot with `readLedger`.
 */
import { createHash } from 'node:crypto';
import type { EarlierSendRow, LedgerKeys, LedgerSnapshot, SendRecord, SendTotals, Store } from '../store/store.js';

export type { LedgerKeys, LedgerSnapshot, SendRecord, SendTotals };
export type SendKind = SendRecord['kind'];
export type EarlierSend = EarlierSendRow;

/** The part of the store the policy uses: one definition, so the two cannot drift apart. */
export type SendLedger = Pick<Store, 'recordSend' | 'sendTotals' | 'readLedger'>;

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

  async recordSend(record: SendRecord): Promise<void> {
    this.sends.push({ ...record, at: new Date(record.at) });
  }

  async sendTotals(hourStart: Date, dayStart: Date): Promise<SendTotals> {
    return this.totals(hourStart, dayStart);
  }

  async findRecentSend(to: string, bodyHash: string, since: Date): Promise<EarlierSend | undefined> {
    return this.recent(to, bodyHash, since);
  }

  async hasContacted(to: string): Promise<boolean> {
    return this.contacted(to);
  }

  async readLedger(keys: LedgerKeys): Promise<LedgerSnapshot> {
    return {
      totals: this.totals(keys.hourStart, keys.dayStart),
      earlier: keys.bodyHash !== null && keys.duplicateSince !== null ? this.recent(keys.to, keys.bodyHash, keys.duplicateSince) : undefined,
      contacted: this.contacted(keys.to),
    };
  }

  private totals(hourStart: Date, dayStart: Date): SendTotals {
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

  private recent(to: string, bodyHash: string, since: Date): EarlierSend | undefined {
    let latest: { send: SendRecord; index: number } | undefined;
    this.sends.forEach((send, index) => {
      if (send.to !== to || send.bodyHash !== bodyHash || send.at < since) return;
      if (!latest || send.at >= latest.send.at) latest = { send, index };
    });
    return latest && { sid: latest.send.sid, at: latest.send.at, state: 'sent', reservationId: latest.index + 1 };
  }

  private contacted(to: string): boolean {
    return this.sends.some((send) => send.to === to);
  }

  /** Everything recorded, oldest first (for tests and dry-run reports). */
  records(): readonly SendRecord[] {
    return this.sends;
  }
}
