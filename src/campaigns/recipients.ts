/**
 * Reading and judging campaign recipients, one at a time: an inline list, or a local CSV
 * (header row required, a `to` column; every other column is a variable), JSON (an array of
 * objects) or JSON Lines file. Everything here streams — memory stays flat in the number
 * of recipients; only the current row is held.
 */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { extname } from 'node:path';
import { parse } from 'csv-parse';
import { judgePhoneAddress, WHATSAPP_PREFIX } from '../domain/phone-address.js';
import type { CampaignChannel, NewRecipient } from '../store/outbox.js';
import { missingReason, render } from './template.js';
import type { RecipientInput, RecipientSource } from './types.js';

/** A recipient as read, with its 1-based position in the list. */
export interface NumberedRecipient {
  row: number;
  to: string;
  variables: Record<string, string>;
}

export class RecipientFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecipientFileError';
  }
}

/** The recipients of `source`, numbered from 1, streamed. */
export async function* readRecipients(source: RecipientSource): AsyncGenerator<NumberedRecipient> {
  let row = 0;
  if (source.kind === 'inline') {
    for await (const r of source.recipients) yield { row: ++row, to: String(r.to ?? ''), variables: stringValues(r.variables ?? {}) };
    return;
  }
  // A missing or unreadable file is this error, up front: a stream's 'error' event would
  // otherwise escape the loop below and take the process down.
  let isFile = false;
  try {
    isFile = statSync(source.path).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) throw new RecipientFileError(`${source.path} is not a file this server can read: give the path of a local CSV, JSON or JSON Lines file.`);
  const format = source.format ?? formatOf(source.path);
  const records = format === 'csv' ? csvRecords(source.path) : format === 'jsonl' ? jsonLines(source.path) : jsonArray(source.path);
  for await (const record of records) yield { row: ++row, ...splitRecord(record) };
}

function formatOf(path: string): 'csv' | 'json' | 'jsonl' {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.json') return 'json';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new RecipientFileError(`Cannot tell the format of ${path}: name it .csv, .json or .jsonl, or give the format.`);
}

/** `{to, variables: {...}}`, or `{to, name: ..., ...}` where every other field is a variable. */
function splitRecord(record: Record<string, unknown>): { to: string; variables: Record<string, string> } {
  const { to, variables, ...rest } = record;
  const vars = variables !== null && typeof variables === 'object' && !Array.isArray(variables) ? (variables as Record<string, unknown>) : rest;
  return { to: typeof to === 'string' || typeof to === 'number' ? String(to) : '', variables: stringValues(vars) };
}

function stringValues(values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === 'string') out[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[key] = String(value);
  }
  return out;
}

async function* csvRecords(path: string): AsyncGenerator<Record<string, unknown>> {
  const source = createReadStream(path);
  const parser = source.pipe(
    parse({
      bom: true,
      trim: true,
      skip_empty_lines: true,
      // The header names the variables; `to` (any case) names the recipient column.
      columns: (header: string[]) => {
        const names = header.map((h) => (h.trim().toLowerCase() === 'to' ? 'to' : h.trim()));
        if (!names.includes('to')) throw new RecipientFileError(`${path}: the header row has no "to" column (found: ${header.join(', ') || 'nothing'}).`);
        return names;
      },
    }),
  );
  source.on('error', (error) => parser.destroy(error));
  try {
    for await (const record of parser) yield record as Record<string, unknown>;
  } catch (error) {
    if (error instanceof RecipientFileError) throw error;
    throw new RecipientFileError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function* jsonLines(path: string): AsyncGenerator<Record<string, unknown>> {
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    yield parseObject(text, `${path} line ${line}`);
  }
}

function parseObject(text: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RecipientFileError(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new RecipientFileError(`${where}: each recipient must be a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * The objects of a top-level JSON array, one at a time. No streaming JSON parser is a
 * dependency, and only this shape is needed: the scanner finds where each object ends
 * (tracking strings, escapes and nesting) and JSON.parse judges the object itself.
 */
async function* jsonArray(path: string): AsyncGenerator<Record<string, unknown>> {
  let phase: 'before' | 'between' | 'inside' | 'after' = 'before';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let pending = '';
  let index = 0;
  for await (const chunk of createReadStream(path, 'utf8') as AsyncIterable<string>) {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (phase === 'inside') {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === '\\') escaped = true;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '{' || c === '[') depth++;
        else if ((c === '}' || c === ']') && --depth === 0) {
          const text = pending + chunk.slice(start, i + 1);
          pending = '';
          phase = 'between';
          yield parseObject(text, `${path} element ${++index}`);
        }
        continue;
      }
      if (c === ' ' || c === '\n' || c === '\r' || c === '\t' || c === '\uFEFF') continue;
      if (phase === 'before') {
        if (c !== '[') throw new RecipientFileError(`${path}: a JSON recipient file is an array of objects ([{"to": ...}, ...])`);
        phase = 'between';
      } else if (phase === 'between') {
        if (c === ',') continue;
        if (c === ']') phase = 'after';
        else if (c === '{') {
          phase = 'inside';
          depth = 1;
          start = i;
        } else throw new RecipientFileError(`${path} element ${index + 1}: each recipient must be a JSON object`);
      } else throw new RecipientFileError(`${path}: unexpected text after the closing ]`);
    }
    if (phase === 'inside') pending += chunk.slice(start);
  }
  if ((phase as string) !== 'after') throw new RecipientFileError(`${path}: the JSON array is not closed (the file may be truncated)`);
}

export interface JudgeOptions {
  campaignId: string;
  channel: CampaignChannel;
  /** The body template; rows that cannot fill it are invalid. Undefined for a content template. */
  template: string | undefined;
}

/**
 * Each recipient as the outbox stores it: canonical number (through the one normaliser),
 * `invalid` with the reason when it cannot be sent as given, and the number as the
 * uniqueness key so that a later row for the same person is a `duplicate`.
 */
export async function* judgeRecipients(rows: AsyncIterable<NumberedRecipient>, options: JudgeOptions): AsyncGenerator<NewRecipient> {
  for await (const r of rows) {
    const base = { row: r.row, variables: r.variables, idempotencyKey: `${options.campaignId}:${r.row}` };
    const invalid = (error: string): NewRecipient => ({ ...base, to: r.to, state: 'invalid', error: `row ${r.row}: ${error}`, uniqueKey: null });
    if (r.to.trim() === '') {
      yield invalid('no number in "to"');
      continue;
    }
    // The judgement every phone parameter gets (length for the country, the E.164 to use for
    // a national number), per row: one bad row must not refuse the campaign.
    const checked = await judgePhoneAddress('to', r.to);
    if (!checked.ok) {
      yield invalid(`${checked.message} ${checked.suggestion ? `Did you mean ${checked.suggestion}?` : checked.nextStep}`);
      continue;
    }
    const canonical = checked.value;
    const number = canonical.replace(WHATSAPP_PREFIX, '');
    if (options.channel === 'sms' && canonical.startsWith(WHATSAPP_PREFIX)) {
      yield invalid(`"${r.to}" is a WhatsApp address in an SMS campaign`);
      continue;
    }
    if (options.template !== undefined) {
      const rendered = render(options.template, r.variables);
      if (!rendered.ok) {
        yield invalid(missingReason(rendered.missing));
        continue;
      }
    }
    const to = options.channel === 'whatsapp' ? `${WHATSAPP_PREFIX}${number}` : number;
    yield { ...base, to, state: 'pending', error: null, uniqueKey: number };
  }
}

export type { RecipientInput };
