/**
 * The device log: what each emulated phone or mailbox has received. The sandbox sends to
 * nobody, so whatever would have reached a person (a Verify code by SMS, WhatsApp, voice
 * or email; an outbound SMS of the Messages store, once the lead feeds it) is recorded
 * here, per address, for a test or a developer to read back:
 * `GET /__sandbox/devices/{address}` answers the newest entries first.
 *
 * Addresses are canonical so a reader finds what a writer wrote: phone numbers as E.164
 * (a `whatsapp:` prefix names the same phone, the entry's `kind` keeps the channel),
 * email addresses lower-cased. Each address keeps its last `perAddress` entries (default
 * 100), so a long test run cannot grow memory without bound.
 */
import type { Reply } from './router.js';
import { type Params, TwilioError } from './wire.js';

export type DeviceEntryKind = 'sms' | 'whatsapp' | 'call' | 'email';

export interface DeviceEntryInput {
  kind: DeviceEntryKind;
  from: string;
  /** The message text; for a call, the words spoken; for an email, its plain text. */
  body: string;
  /** Email only. */
  subject?: string;
  at: Date;
}

export interface DeviceEntry extends DeviceEntryInput {
  /** The canonical address it was delivered to. */
  address: string;
}

export const DEFAULT_ENTRIES_PER_ADDRESS = 100;

/** `whatsapp:+1415…` and `+1415…` are one phone; `Ann@Example.COM` and `ann@example.com` one mailbox. */
export function canonicalDeviceAddress(address: string): string {
  const trimmed = address.trim();
  if (trimmed.includes('@')) return trimmed.toLowerCase();
  return trimmed.replace(/^whatsapp:/i, '');
}

export class DeviceLog {
  /** Oldest first per address; read() reverses. */
  private readonly entries = new Map<string, DeviceEntry[]>();

  constructor(private readonly perAddress = DEFAULT_ENTRIES_PER_ADDRESS) {
    if (!Number.isInteger(perAddress) || perAddress < 1) throw new Error(`perAddress must be a positive integer, got ${perAddress}`);
  }

  record(address: string, entry: DeviceEntryInput): void {
    const key = canonicalDeviceAddress(address);
    const list = this.entries.get(key) ?? [];
    list.push({ ...entry, address: key });
    if (list.length > this.perAddress) list.splice(0, list.length - this.perAddress);
    this.entries.set(key, list);
  }

  /** Newest first; `limit` caps how many. */
  read(address: string, limit?: number): DeviceEntry[] {
    const list = this.entries.get(canonicalDeviceAddress(address)) ?? [];
    const newest = [...list].reverse();
    return limit === undefined ? newest : newest.slice(0, Math.max(0, limit));
  }

  clear(address?: string): void {
    if (address === undefined) this.entries.clear();
    else this.entries.delete(canonicalDeviceAddress(address));
  }
}

export function deviceEntryJson(entry: DeviceEntry) {
  return {
    address: entry.address,
    kind: entry.kind,
    from: entry.from,
    body: entry.body,
    subject: entry.subject ?? null,
    at: entry.at.toISOString(),
  };
}

const DEVICE_PATH = /^\/__sandbox\/devices\/([^/]+)$/;

/**
 * `GET /__sandbox/devices/{address}[?limit=n]` → the address's entries as a JSON list,
 * newest first. The address may be percent-encoded; a raw `+` stays a plus (it starts an
 * E.164 number, it is never a space). Undefined for any other path or method.
 */
export function deviceLogRoute(log: DeviceLog, method: string, path: string, query: Params): Reply | undefined {
  const match = DEVICE_PATH.exec(path);
  if (!match || method !== 'GET') return undefined;
  let address: string;
  try {
    address = decodeURIComponent(match[1]!);
  } catch {
    throw new TwilioError(400, 20001, `Invalid device address ${match[1]}`);
  }
  const limitText = query.get('limit')?.[0];
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new TwilioError(400, 20001, 'limit must be a non-negative integer');
  }
  return { status: 200, body: log.read(address, limit).map(deviceEntryJson) };
}
