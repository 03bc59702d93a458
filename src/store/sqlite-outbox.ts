/**
 * The Outbox port on SQLite (better-sqlite3, WAL), in the same database file as the store:
 * the tables come from migration 8, and a recipient's delivery status is a join with the
 * store's status_current (filled by status callbacks), so no copy has to be kept in step.
 *
 * Durability: creating, claiming and state changes commit with synchronous = FULL on one
 * connection; settlements go through a second connection with synchronous = NORMAL (WAL:
 * survives a killed process, only a power cut can lose the last commits). A lost
 * settlement leaves its row `sending`, which the next start turns into outcome_unknown and
 * reconciles — the safe side, as the store's own bookkeeping connection argues. A claim is
 * fsynced before the send leaves, so a claimed row is never silently pending again.
 */
import Database from 'better-sqlite3';
import { GroupCommit, outcomeOf } from './group-commit.js';
import { migrateSqliteFile } from './sqlite-store.js';
import {
  emptyCounts,
  type Campaign,
  type CampaignInsights,
  type CampaignState,
  type NewCampaign,
  type NewRecipient,
  type Outbox,
  type RecipientRow,
  type RecipientState,
  type Settlement,
  type StateCounts,
} from './outbox.js';

const iso = (d: Date) => d.toISOString();
const dateOrNull = (s: string | null) => (s ? new Date(s) : null);

interface CampaignDbRow {
  id: string;
  name: string;
  channel: Campaign['channel'];
  template: string | null;
  content_sid: string | null;
  from_address: string | null;
  messaging_service_sid: string | null;
  rate_per_second: number | null;
  state: CampaignState;
  loaded: number;
  resume_at: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

interface RecipientDbRow {
  campaign_id: string;
  row_number: number;
  to_address: string;
  variables: string;
  state: RecipientState;
  attempts: number;
  next_attempt_at: string | null;
  attempt_started_at: string | null;
  owner_pid: number | null;
  message_sid: string | null;
  error_code: number | null;
  error: string | null;
  idempotency_key: string;
  updated_at: string;
  delivery_status?: string | null;
}

const toRecipient = (r: RecipientDbRow): RecipientRow => ({
  campaignId: r.campaign_id,
  row: r.row_number,
  to: r.to_address,
  variables: JSON.parse(r.variables) as Record<string, string>,
  state: r.state,
  attempts: r.attempts,
  nextAttemptAt: dateOrNull(r.next_attempt_at),
  attemptStartedAt: dateOrNull(r.attempt_started_at),
  ownerPid: r.owner_pid,
  messageSid: r.message_sid,
  errorCode: r.error_code,
  error: r.error,
  idempotencyKey: r.idempotency_key,
  updatedAt: new Date(r.updated_at),
  ...(r.delivery_status !== undefined && { deliveryStatus: r.delivery_status }),
});

/** RETURNING gives rows in no promised order: claims are handed out by row number. */
const byRow = (a: RecipientRow, b: RecipientRow) => a.campaignId.localeCompare(b.campaignId) || a.row - b.row;

const WITH_DELIVERY = `SELECT r.*, s.status AS delivery_status FROM campaign_recipients r
  LEFT JOIN status_current s ON s.kind = 'message' AND s.sid = r.message_sid`;

export interface SqliteOutboxOptions {
  /** Rows per insert transaction at import. */
  batchSize?: number;
}

/**
 * Opens the outbox on the store file at `file` (migrating it through the store if it is
 * new or older), on connections of its own; or on an open better-sqlite3 `Database` whose
 * schema is already at version 8 (the store's, say), which it then does not close.
 */
export function openSqliteOutbox(source: string | Database.Database, options: SqliteOutboxOptions = {}): Outbox {
  let db: Database.Database;
  let settling: Database.Database;
  let owned = false;
  if (typeof source === 'string') {
    if (source === ':memory:') throw new Error('the outbox needs a database file (or an open Database) it can share with the store');
    // The store owns the schema: opening it once applies any migration the file lacks.
    migrateSqliteFile(source);
    db = new Database(source);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    settling = new Database(source);
    settling.pragma('busy_timeout = 5000');
    settling.pragma('synchronous = NORMAL');
    owned = true;
  } else {
    db = source;
    settling = source;
  }
  const defaultBatch = options.batchSize ?? 500;

  const s = {
    insertCampaign: db.prepare(`INSERT INTO campaigns (id, name, channel, template, content_sid, from_address, messaging_service_sid, rate_per_second, state, loaded, loader_pid, created_at, updated_at)
      VALUES (@id, @name, @channel, @template, @contentSid, @from, @messagingServiceSid, @ratePerSecond, 'running', 0, @loaderPid, @createdAt, @createdAt)`),
    loaderPids: db.prepare("SELECT DISTINCT loader_pid FROM campaigns WHERE loaded = 0 AND state = 'running' AND loader_pid IS NOT NULL").pluck(),
    abandonImport: db.prepare("UPDATE campaigns SET state = 'canceled', error = 'recipient import interrupted (the importing process stopped); create the campaign again', updated_at = @now WHERE loaded = 0 AND state = 'running' AND loader_pid = @pid RETURNING id").pluck(),
    insertRow: db.prepare(`INSERT INTO campaign_recipients (campaign_id, row_number, to_address, unique_key, variables, state, next_attempt_at, error, idempotency_key, updated_at)
      VALUES (@campaignId, @row, @to, @uniqueKey, @variables, @state, @nextAttemptAt, @error, @idempotencyKey, @now)
      ON CONFLICT (campaign_id, unique_key) DO NOTHING`),
    firstWithKey: db.prepare('SELECT row_number FROM campaign_recipients WHERE campaign_id = ? AND unique_key = ?').pluck(),
    markLoaded: db.prepare('UPDATE campaigns SET loaded = 1, loader_pid = NULL, updated_at = ? WHERE id = ?'),
    failLoad: db.prepare("UPDATE campaigns SET state = 'canceled', error = ?, updated_at = ? WHERE id = ?"),
    getCampaign: db.prepare('SELECT * FROM campaigns WHERE id = ?'),
    listCampaigns: db.prepare('SELECT * FROM campaigns WHERE (@state IS NULL OR state = @state) ORDER BY created_at DESC, id LIMIT @limit'),
    setState: db.prepare('UPDATE campaigns SET state = @to, updated_at = @now WHERE id = @id AND state IN (SELECT value FROM json_each(@from))'),
    cancelRows: db.prepare("UPDATE campaign_recipients SET state = 'canceled', error = 'campaign canceled', updated_at = ? WHERE campaign_id = ? AND state IN ('pending', 'held')"),
    setResumeAt: db.prepare('UPDATE campaigns SET resume_at = ?, updated_at = ? WHERE id = ?'),
    completeIfDone: db.prepare(`UPDATE campaigns SET state = 'completed', updated_at = @now WHERE id = @id AND state = 'running' AND loaded = 1
      AND NOT EXISTS (SELECT 1 FROM campaign_recipients WHERE campaign_id = @id AND state IN ('pending', 'held', 'sending', 'outcome_unknown'))`),
    counts: db.prepare('SELECT state, COUNT(*) AS n FROM campaign_recipients WHERE campaign_id = ? GROUP BY state'),
    deliveryCounts: db.prepare(`SELECT COALESCE(s.status, 'unknown') AS status, COUNT(*) AS n FROM campaign_recipients r
      LEFT JOIN status_current s ON s.kind = 'message' AND s.sid = r.message_sid
      WHERE r.campaign_id = ? AND r.state = 'sent' GROUP BY 1`),
    getRow: db.prepare(`${WITH_DELIVERY} WHERE r.campaign_id = ? AND r.row_number = ?`),
    listRows: db.prepare(`${WITH_DELIVERY} WHERE r.campaign_id = @id AND (@state IS NULL OR r.state = @state) AND r.row_number > @after
      ORDER BY r.row_number LIMIT @limit`),
    // A claim: the campaigns that may send now, the first due rows of each (index of
    // migration 9, so a campaign that may not send costs nothing), the earliest n of those.
    claimable: db.prepare("SELECT id FROM campaigns WHERE state = 'running' AND loaded = 1 AND (resume_at IS NULL OR resume_at <= ?)").pluck(),
    dueOf: db.prepare(`SELECT rowid AS rid, next_attempt_at AS due, row_number AS rowNumber FROM campaign_recipients
      WHERE campaign_id = @id AND state IN ('pending', 'held') AND next_attempt_at <= @now ORDER BY next_attempt_at, row_number LIMIT @n`),
    claimRows: db.prepare(`UPDATE campaign_recipients SET state = 'sending', owner_pid = @pid, attempts = attempts + 1, attempt_started_at = @now, updated_at = @now
      WHERE rowid IN (SELECT value FROM json_each(@rowids)) RETURNING *`),
    claimUnknown: db.prepare(`UPDATE campaign_recipients SET owner_pid = @pid, updated_at = @now
      WHERE rowid IN (
        SELECT rowid FROM campaign_recipients
        -- The IN term is the partial index's own condition, repeated so SQLite uses that index.
        WHERE state IN ('sending', 'outcome_unknown') AND state = 'outcome_unknown' AND owner_pid IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= @now)
        LIMIT @n)
      RETURNING *`),
    anyUnknown: db.prepare(`SELECT 1 FROM campaign_recipients
      WHERE state IN ('sending', 'outcome_unknown') AND state = 'outcome_unknown' AND owner_pid IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?) LIMIT 1`).pluck(),
    settle: settling.prepare(`UPDATE campaign_recipients SET state = @state, message_sid = COALESCE(@sid, message_sid), next_attempt_at = @next,
        attempts = MAX(0, attempts - @undo),
        error = @error, error_code = @code, owner_pid = NULL, updated_at = @now
      WHERE campaign_id = @campaignId AND row_number = @row AND owner_pid = @pid AND state IN ('sending', 'outcome_unknown')`),
    ownerPids: db.prepare("SELECT DISTINCT owner_pid FROM campaign_recipients WHERE state IN ('sending', 'outcome_unknown') AND owner_pid IS NOT NULL").pluck(),
    orphanSending: db.prepare(`UPDATE campaign_recipients SET state = 'outcome_unknown', owner_pid = NULL, next_attempt_at = @now,
        error = 'the process sending it stopped before Twilio answered', updated_at = @now
      WHERE state = 'sending' AND owner_pid = @pid`),
    orphanUnknown: db.prepare("UPDATE campaign_recipients SET owner_pid = NULL, updated_at = @now WHERE state = 'outcome_unknown' AND owner_pid = @pid"),
    // Insights. A sent row is never written again, so its updated_at is when it became sent.
    // Failures: Twilio's refusals at create (failed_send, and skips Twilio itself answered with
    // a code, e.g. 21610) and the sent messages a callback reported undelivered or failed.
    insightErrors: db.prepare(`SELECT code, COUNT(*) AS n, MIN(example) AS example FROM (
        SELECT error_code AS code, COALESCE(error, state) AS example FROM campaign_recipients
          WHERE campaign_id = @id AND (state = 'failed_send' OR (state IN ('skipped_opt_out', 'skipped_policy') AND error_code IS NOT NULL))
        UNION ALL
        SELECT s.error_code AS code, s.status || COALESCE(' (error ' || s.error_code || ')', '') AS example FROM campaign_recipients r
          JOIN status_current s ON s.kind = 'message' AND s.sid = r.message_sid
          WHERE r.campaign_id = @id AND r.state = 'sent' AND s.status IN ('undelivered', 'failed'))
      GROUP BY code ORDER BY n DESC, code LIMIT 20`),
    insightSent: db.prepare(`SELECT MIN(updated_at) AS first, MAX(updated_at) AS last, COALESCE(SUM(updated_at >= @since AND updated_at <= @now), 0) AS lastMinute
      FROM campaign_recipients WHERE campaign_id = @id AND state = 'sent'`),
    insightSpend: db.prepare(`SELECT COALESCE(SUM((SELECT x.estimated_cost FROM send_reservations x WHERE x.sid = r.message_sid ORDER BY x.id DESC LIMIT 1)), 0)
      FROM campaign_recipients r WHERE r.campaign_id = ? AND r.state = 'sent' AND r.message_sid IS NOT NULL`).pluck(),
    insightReplies: db.prepare(`SELECT COUNT(*) FROM campaign_recipients r JOIN inbound_messages m
        ON m.from_number IN (r.to_address, 'whatsapp:' || r.to_address) AND m.received_at >= r.updated_at
      WHERE r.campaign_id = ? AND r.state = 'sent'`).pluck(),
    // The opt-out audit has no index by recipient: its adds since the campaign began are
    // read once (a STOP is rare next to a send) and matched to the campaign's sent rows.
    insightOptOuts: db.prepare(`WITH adds AS (SELECT recipient, at FROM opt_out_audit WHERE action = 'add' AND at >= @since)
      SELECT COUNT(DISTINCT r.row_number) FROM campaign_recipients r JOIN adds a
        ON a.recipient IN (r.to_address, 'whatsapp:' || r.to_address) AND a.at >= r.updated_at
      WHERE r.campaign_id = @id AND r.state = 'sent'`).pluck(),
  };

  const countsOf = (id: string): StateCounts => {
    const counts = emptyCounts();
    for (const r of s.counts.all(id) as Array<{ state: RecipientState; n: number }>) counts[r.state] = r.n;
    return counts;
  };
  const toCampaign = (r: CampaignDbRow): Campaign => ({
    id: r.id,
    name: r.name,
    channel: r.channel,
    template: r.template,
    contentSid: r.content_sid,
    from: r.from_address,
    messagingServiceSid: r.messaging_service_sid,
    ratePerSecond: r.rate_per_second,
    createdAt: new Date(r.created_at),
    state: r.state,
    loaded: r.loaded === 1,
    resumeAt: dateOrNull(r.resume_at),
    updatedAt: new Date(r.updated_at),
    error: r.error,
    counts: countsOf(r.id),
  });

  const insertBatch = db.transaction((campaignId: string, rows: NewRecipient[], createdAt: string) => {
    const now = iso(new Date());
    for (const r of rows) {
      const values = {
        campaignId,
        row: r.row,
        to: r.to,
        uniqueKey: r.uniqueKey,
        variables: JSON.stringify(r.variables),
        state: r.state,
        nextAttemptAt: r.state === 'pending' ? createdAt : null,
        error: r.error,
        idempotencyKey: r.idempotencyKey,
        now,
      };
      if (s.insertRow.run(values).changes > 0) continue;
      const first = s.firstWithKey.get(campaignId, r.uniqueKey) as number;
      s.insertRow.run({ ...values, uniqueKey: null, state: 'duplicate', nextAttemptAt: null, error: `duplicate of row ${first}` });
    }
  });

  const claim = db.transaction((n: number, now: Date, pid: number) => {
    const at = iso(now);
    const due: Array<{ rid: number; due: string; campaignId: string; rowNumber: number }> = [];
    for (const id of s.claimable.all(at) as string[]) {
      for (const r of s.dueOf.all({ id, now: at, n }) as Array<{ rid: number; due: string; rowNumber: number }>) due.push({ ...r, campaignId: id });
    }
    // Earliest due first, then by campaign and row: SQLite's own (binary) order of the keys.
    const before = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    due.sort((a, b) => before(a.due, b.due) || before(a.campaignId, b.campaignId) || a.rowNumber - b.rowNumber);
    const rowids = due.slice(0, n).map((r) => r.rid);
    if (rowids.length === 0) return [];
    return (s.claimRows.all({ rowids: JSON.stringify(rowids), now: at, pid }) as RecipientDbRow[]).map(toRecipient).sort(byRow);
  });
  const claimUnknown = db.transaction((n: number, now: Date, pid: number) =>
    (s.claimUnknown.all({ n, now: iso(now), pid }) as RecipientDbRow[]).map(toRecipient).sort(byRow),
  );
  const setState = db.transaction((id: string, to: CampaignState, now: Date) => {
    const from: Record<CampaignState, CampaignState[]> = {
      running: ['paused'],
      paused: ['running'],
      canceled: ['running', 'paused'],
      completed: ['running'],
    };
    const changed = s.setState.run({ id, to, now: iso(now), from: JSON.stringify(from[to]) }).changes > 0;
    if (changed && to === 'canceled') s.cancelRows.run(iso(now), id);
    return changed;
  });
  const releaseStale = db.transaction((pidAlive: (pid: number) => boolean, now: Date) => {
    let released = 0;
    for (const pid of s.ownerPids.all() as number[]) {
      if (pidAlive(pid)) continue;
      released += s.orphanSending.run({ pid, now: iso(now) }).changes;
      s.orphanUnknown.run({ pid, now: iso(now) });
    }
    for (const pid of s.loaderPids.all() as number[]) {
      if (pidAlive(pid)) continue;
      for (const id of s.abandonImport.all({ pid, now: iso(now) }) as string[]) s.cancelRows.run(iso(now), id);
    }
    return released;
  });

  const readInsights = db.transaction((id: string, now: Date): CampaignInsights => {
    const campaign = s.getCampaign.get(id) as CampaignDbRow | undefined;
    const errors = (s.insightErrors.all({ id }) as Array<{ code: number | null; n: number; example: string }>).map((e) => ({ code: e.code, count: e.n, example: e.example }));
    const sent = s.insightSent.get({ id, since: iso(new Date(now.getTime() - 60_000)), now: iso(now) }) as { first: string | null; last: string | null; lastMinute: number };
    return {
      errors,
      firstSentAt: dateOrNull(sent.first),
      lastSentAt: dateOrNull(sent.last),
      sentLastMinute: sent.lastMinute,
      spentUsd: Number(s.insightSpend.get(id)),
      replies: Number(s.insightReplies.get(id)),
      optOuts: campaign ? Number(s.insightOptOuts.get({ id, since: campaign.created_at })) : 0,
    };
  });

  const settleOne = (ref: { campaignId: string; row: number }, ownerPid: number, outcome: Settlement, now: Date): boolean =>
    s.settle.run({
      campaignId: ref.campaignId,
      row: ref.row,
      pid: ownerPid,
      state: outcome.state,
      sid: outcome.state === 'sent' ? outcome.messageSid : null,
      next: 'nextAttemptAt' in outcome ? iso(outcome.nextAttemptAt) : null,
      error: outcome.state === 'sent' ? null : (outcome.error ?? null),
      code: outcome.state === 'sent' ? null : (outcome.errorCode ?? null),
      undo: 'notAnAttempt' in outcome && outcome.notAnAttempt ? 1 : 0,
      now: iso(now),
    }).changes > 0;
  // Settlements made together (the workers a store commit released finish together) share
  // one transaction on the settling connection: fewer WAL writes of the same pages. Each is
  // one UPDATE, atomic on its own, so a failing one leaves the others; each promise settles
  // after the COMMIT. 'microtask': a settlement never waits for a turn of the event loop.
  type SettleItem = { ref: { campaignId: string; row: number }; ownerPid: number; outcome: Settlement; now: Date };
  const settlements = new GroupCommit<SettleItem, boolean>(
    settling.transaction((items: SettleItem[]) => items.map((i) => outcomeOf(() => settleOne(i.ref, i.ownerPid, i.outcome, i.now)))).immediate,
    { after: 'microtask' },
  );

  return {
    async createCampaign(campaign: NewCampaign, recipients, createOptions = {}) {
      const batchSize = createOptions.batchSize ?? defaultBatch;
      s.insertCampaign.run({
        id: campaign.id,
        name: campaign.name,
        channel: campaign.channel,
        template: campaign.template,
        contentSid: campaign.contentSid,
        from: campaign.from,
        messagingServiceSid: campaign.messagingServiceSid,
        ratePerSecond: campaign.ratePerSecond,
        loaderPid: createOptions.loaderPid ?? process.pid,
        createdAt: iso(campaign.createdAt),
      });
      const createdAt = iso(campaign.createdAt);
      try {
        let batch: NewRecipient[] = [];
        for await (const r of recipients) {
          batch.push(r);
          if (batch.length >= batchSize) {
            insertBatch.immediate(campaign.id, batch, createdAt);
            batch = [];
          }
        }
        if (batch.length > 0) insertBatch.immediate(campaign.id, batch, createdAt);
        s.markLoaded.run(iso(new Date()), campaign.id);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        db.transaction(() => {
          s.failLoad.run(`recipients could not be imported: ${message}`, iso(new Date()), campaign.id);
          s.cancelRows.run(iso(new Date()), campaign.id);
        }).immediate();
        throw error;
      }
      return toCampaign(s.getCampaign.get(campaign.id) as CampaignDbRow);
    },
    async getCampaign(id) {
      const row = s.getCampaign.get(id) as CampaignDbRow | undefined;
      return row ? toCampaign(row) : undefined;
    },
    async listCampaigns(filter = {}) {
      return (s.listCampaigns.all({ state: filter.state ?? null, limit: filter.limit ?? 100 }) as CampaignDbRow[]).map(toCampaign);
    },
    async setCampaignState(id, state) {
      return setState.immediate(id, state, new Date());
    },
    async setCampaignResumeAt(id, at) {
      s.setResumeAt.run(at ? iso(at) : null, iso(new Date()), id);
    },
    async completeIfDone(id) {
      return s.completeIfDone.run({ id, now: iso(new Date()) }).changes > 0;
    },
    async counts(id) {
      return countsOf(id);
    },
    async deliveryCounts(id) {
      const rows = s.deliveryCounts.all(id) as Array<{ status: string; n: number }>;
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
    async insights(id: string, now: Date): Promise<CampaignInsights> {
      // One read transaction: every figure describes the same moment.
      return readInsights.deferred(id, now);
    },
    async getRecipient(ref) {
      const row = s.getRow.get(ref.campaignId, ref.row) as RecipientDbRow | undefined;
      return row ? toRecipient(row) : undefined;
    },
    async listRecipients(campaignId, filter) {
      return (s.listRows.all({ id: campaignId, state: filter.state ?? null, after: filter.afterRow ?? 0, limit: filter.limit }) as RecipientDbRow[]).map(toRecipient);
    },
    // Most claims find nothing (every idle worker looks again each poll interval): a plain
    // read says so first, and only a claim with something to take holds the write lock
    // (which another server on the same file waits for), looking again under it.
    async claimBatch(n, now, ownerPid) {
      const at = iso(now);
      const anyDue = (s.claimable.all(at) as string[]).some((id) => s.dueOf.get({ id, now: at, n: 1 }) !== undefined);
      return anyDue ? claim.immediate(n, now, ownerPid) : [];
    },
    async claimUnknown(n, now, ownerPid) {
      return s.anyUnknown.get(iso(now)) === undefined ? [] : claimUnknown.immediate(n, now, ownerPid);
    },
    settle(ref, ownerPid, outcome: Settlement, now) {
      return settlements.submit({ ref: { campaignId: ref.campaignId, row: ref.row }, ownerPid, outcome, now });
    },
    async releaseStale(pidAlive, now) {
      return releaseStale.immediate(pidAlive, now);
    },
    async close() {
      settlements.flush();
      if (!owned) return;
      settling.close();
      db.close();
    },
  };
}
