/**
 * The PostgreSQL outbox's rows as the database holds them, and as the port gives them out.
 */
import type { Campaign, CampaignState, NewRecipient, RecipientRow, RecipientState, RowRef } from '../outbox.js';

export interface CampaignDbRow {
  id: string;
  name: string;
  channel: Campaign['channel'];
  template: string | null;
  content_sid: string | null;
  from_address: string | null;
  messaging_service_sid: string | null;
  rate_per_second: number | null;
  state: CampaignState;
  loaded: boolean;
  resume_at: Date | null;
  error: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface RecipientDbRow {
  campaign_id: string;
  row_number: number;
  to_address: string;
  variables: Record<string, string>;
  state: RecipientState;
  attempts: number;
  next_attempt_at: Date | null;
  attempt_started_at: Date | null;
  owner_instance: string | null;
  owner_pid: number | null;
  message_sid: string | null;
  error_code: number | null;
  error: string | null;
  idempotency_key: string;
  updated_at: Date;
  delivery_status?: string | null;
}

export const toRecipient = (r: RecipientDbRow): RecipientRow => ({
  campaignId: r.campaign_id,
  row: r.row_number,
  to: r.to_address,
  variables: r.variables,
  state: r.state,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  attemptStartedAt: r.attempt_started_at,
  ownerPid: r.owner_pid,
  messageSid: r.message_sid,
  errorCode: r.error_code,
  error: r.error,
  idempotencyKey: r.idempotency_key,
  updatedAt: r.updated_at,
  ...(r.delivery_status !== undefined && { deliveryStatus: r.delivery_status }),
});

/** RETURNING gives rows in no promised order: claims are handed out by row number (ids byte-wise, as SQLite sorts them). */
export const byRow = (a: RecipientRow, b: RecipientRow) => (a.campaignId < b.campaignId ? -1 : a.campaignId > b.campaignId ? 1 : a.row - b.row);
export const refKey = (ref: RowRef) => `${ref.campaignId}:${ref.row}`;

/** One batch of recipient rows, inserted from arrays in one statement (parameters: rowParams). */
export const INSERT_ROWS = `INSERT INTO campaign_recipients (campaign_id, row_number, to_address, unique_key, variables, state, next_attempt_at, error, idempotency_key, updated_at)
  SELECT $1, u.row_number, u.to_address, u.unique_key, u.variables::jsonb, u.state, u.next_attempt_at, u.error, u.idempotency_key, $2
  FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[])
    AS u (row_number, to_address, unique_key, variables, state, next_attempt_at, error, idempotency_key)
  ORDER BY u.row_number`;

export type RowInput = Omit<NewRecipient, 'state'> & { state: 'pending' | 'invalid' | 'duplicate' };

export function rowParams(campaignId: string, rows: readonly RowInput[], createdAt: Date, now: Date): unknown[] {
  return [
    campaignId,
    now,
    rows.map((r) => r.row),
    rows.map((r) => r.to),
    rows.map((r) => r.uniqueKey),
    rows.map((r) => JSON.stringify(r.variables)),
    rows.map((r) => r.state),
    rows.map((r) => (r.state === 'pending' ? createdAt.toISOString() : null)),
    rows.map((r) => r.error),
    rows.map((r) => r.idempotencyKey),
  ];
}

/** The campaign being imported was canceled meanwhile (its importer was taken for dead): the import stops. */
export class ImportStopped extends Error {
  constructor(campaignId: string) {
    super(`the import of campaign ${campaignId} was canceled while it ran (this instance was taken for dead); create the campaign again`);
    this.name = 'ImportStopped';
  }
}

