/**
 * The Messages resource (2010-04-01): create, fetch, list, update (cancel, redact),
 * delete, media — with Twilio's validation order, magic numbers, scheduling, lifecycle
 * timers and status callbacks. State lives in memory for the sandbox's lifetime.
 */
import { SegmentedMessage } from 'sms-segments-calculator';
import type { Account } from './account.js';
import type { WebhookSender } from './callbacks.js';
import { finalOutcome, pricePerSegment, type Timing } from './lifecycle.js';
import { applyMagicNumbers } from './magic-numbers.js';
import { first, newSid, type Params, rfc2822, TwilioError } from './wire.js';

export interface SandboxMedia {
  sid: string;
  url: string;
  contentType: string;
  dateCreated: Date;
}

export interface SandboxMessage {
  sid: string;
  from: string | null;
  to: string;
  body: string;
  status: string;
  direction: 'outbound-api' | 'inbound';
  numSegments: number;
  media: SandboxMedia[];
  price: string | null;
  errorCode: number | null;
  errorMessage: string | null;
  messagingServiceSid: string | null;
  statusCallback: string | null;
  dateCreated: Date;
  dateSent: Date | null;
  dateUpdated: Date;
  timers: NodeJS.Timeout[];
}

const MAX_BODY = 1600;
const MAX_MEDIA = 10;
const E164 = /^\+[1-9]\d{1,14}$/;
const MIN_SCHEDULE_MS = 15 * 60 * 1000;
const MAX_SCHEDULE_MS = 35 * 24 * 60 * 60 * 1000;
const FINAL = new Set(['delivered', 'undelivered', 'failed', 'canceled', 'received', 'read']);

function guessContentType(url: string): string {
  const ext = /\.([a-z0-9]+)(?:$|\?)/i.exec(url)?.[1]?.toLowerCase();
  const types: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', pdf: 'application/pdf', mp4: 'video/mp4' };
  return (ext && types[ext]) || 'application/octet-stream';
}

export class MessageStore {
  /** Newest last; listing reverses. */
  private readonly messages: SandboxMessage[] = [];
  private readonly bySid = new Map<string, SandboxMessage>();

  constructor(
    private readonly account: Account,
    private readonly timing: Timing,
    private readonly webhooks: WebhookSender,
  ) {}

  get(sid: string): SandboxMessage | undefined {
    return this.bySid.get(sid);
  }

  /** Newest first, as Twilio lists. */
  all(): SandboxMessage[] {
    return [...this.messages].reverse();
  }

  create(params: Params): SandboxMessage {
    const to = first(params, 'To')?.trim();
    const from = first(params, 'From')?.trim() || undefined;
    const serviceSid = first(params, 'MessagingServiceSid')?.trim() || undefined;
    const body = first(params, 'Body') ?? '';
    const mediaUrls = params.get('MediaUrl') ?? [];
    const contentSid = first(params, 'ContentSid');
    const statusCallback = first(params, 'StatusCallback') || null;
    const sendAt = first(params, 'SendAt');
    const scheduleType = first(params, 'ScheduleType');

    if (!to) throw new TwilioError(400, 21604, "A 'To' phone number is required.");
    if (!from && !serviceSid) throw new TwilioError(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.");
    if (!body && mediaUrls.length === 0 && !contentSid) throw new TwilioError(400, 21602, 'Message body is required.');
    if (body.length > MAX_BODY) throw new TwilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    if (mediaUrls.length > MAX_MEDIA) throw new TwilioError(400, 21623, 'Number of media files exceeds allowed limit of 10.');
    for (const url of mediaUrls) if (!/^https?:\/\/\S+$/.test(url)) throw new TwilioError(400, 21620, `Media URL ${url} is invalid.`);
    if (statusCallback && !/^https?:\/\/\S+$/.test(statusCallback)) throw new TwilioError(400, 21609, 'The StatusCallback URL is not a valid URL.');
    if (serviceSid && serviceSid !== this.account.messagingServiceSid) {
      throw new TwilioError(400, 21705, `The Messaging Service Sid ${serviceSid} is invalid.`);
    }

    const whatsapp = to.startsWith('whatsapp:');
    const toNumber = to.replace(/^whatsapp:/, '');
    if (!E164.test(toNumber)) throw new TwilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    applyMagicNumbers(from, to);
    const sender = from ?? this.account.numbers[0]!.phoneNumber;
    const ownNumbers = this.account.numbers.map((n) => n.phoneNumber);
    if (from && !ownNumbers.includes(from.replace(/^whatsapp:/, ''))) {
      throw new TwilioError(400, 21606, `The 'From' phone number provided (${from}) is not a valid message-capable Twilio phone number for this destination/account.`);
    }
    if (whatsapp !== sender.startsWith('whatsapp:') && from) {
      throw new TwilioError(400, 21910, "Invalid From and To pair. From and To should be of the same channel.");
    }

    let scheduledAt: Date | undefined;
    if (sendAt || scheduleType) {
      if (scheduleType !== 'fixed') throw new TwilioError(400, 35114, "Scheduling requires ScheduleType 'fixed'.");
      if (!serviceSid) throw new TwilioError(400, 35111, 'MessagingServiceSid is required to schedule a message.');
      scheduledAt = sendAt ? new Date(sendAt) : undefined;
      const ahead = scheduledAt ? scheduledAt.getTime() - Date.now() : NaN;
      if (!scheduledAt || Number.isNaN(ahead) || ahead < MIN_SCHEDULE_MS || ahead > MAX_SCHEDULE_MS) {
        throw new TwilioError(400, 35114, 'SendAt time must be between 15 minutes and 35 days in the future.');
      }
    }

    const now = new Date();
    const sid = newSid(mediaUrls.length > 0 ? 'MM' : 'SM');
    const message: SandboxMessage = {
      sid,
      from: from ?? (scheduledAt ? null : sender),
      to,
      body: body || (contentSid ? `[content template ${contentSid}]` : ''),
      status: scheduledAt ? 'scheduled' : serviceSid ? 'accepted' : 'queued',
      direction: 'outbound-api',
      numSegments: body ? new SegmentedMessage(body).segmentsCount : 1,
      media: mediaUrls.map((url) => ({ sid: newSid('ME'), url, contentType: guessContentType(url), dateCreated: now })),
      price: null,
      errorCode: null,
      errorMessage: null,
      messagingServiceSid: serviceSid ?? null,
      statusCallback,
      dateCreated: now,
      dateSent: null,
      dateUpdated: now,
      timers: [],
    };
    this.messages.push(message);
    this.bySid.set(sid, message);
    if (scheduledAt) {
      this.at(message, scheduledAt.getTime() - Date.now(), () => {
        message.from = sender;
        this.transition(message, 'queued');
        this.startLifecycle(message);
      });
    } else {
      this.startLifecycle(message);
    }
    return message;
  }

  /** Records an inbound message (from the simulator) as Twilio stores it. */
  createInbound(fields: { from: string; to: string; body: string; mediaUrls: string[]; messagingServiceSid: string | null }): SandboxMessage {
    const now = new Date();
    const message: SandboxMessage = {
      sid: newSid(fields.mediaUrls.length > 0 ? 'MM' : 'SM'),
      from: fields.from,
      to: fields.to,
      body: fields.body,
      status: 'received',
      direction: 'inbound',
      numSegments: fields.body ? new SegmentedMessage(fields.body).segmentsCount : 1,
      media: fields.mediaUrls.map((url) => ({ sid: newSid('ME'), url, contentType: guessContentType(url), dateCreated: now })),
      price: null,
      errorCode: null,
      errorMessage: null,
      messagingServiceSid: fields.messagingServiceSid,
      statusCallback: null,
      dateCreated: now,
      dateSent: now,
      dateUpdated: now,
      timers: [],
    };
    this.messages.push(message);
    this.bySid.set(message.sid, message);
    return message;
  }

  update(sid: string, params: Params): SandboxMessage {
    const message = this.require(sid);
    const status = first(params, 'Status');
    const body = params.get('Body');
    if (status !== undefined) {
      if (status !== 'canceled') throw new TwilioError(400, 21218, `Invalid Status: ${status}. Only 'canceled' is allowed.`);
      if (message.status !== 'scheduled') {
        throw new TwilioError(400, 30409, 'Message cannot be canceled: only messages with status scheduled can be canceled.');
      }
      this.clearTimers(message);
      this.transition(message, 'canceled');
    }
    if (body !== undefined) {
      if (body[0] !== '') throw new TwilioError(400, 21218, 'Body can only be updated to an empty string (redaction).');
      if (!FINAL.has(message.status)) throw new TwilioError(400, 20009, 'Cannot redact a message that is still being delivered.');
      message.body = '';
      message.dateUpdated = new Date();
    }
    return message;
  }

  delete(sid: string): void {
    const message = this.require(sid);
    if (!FINAL.has(message.status)) throw new TwilioError(400, 20009, 'Cannot delete message because it is still being delivered.');
    this.clearTimers(message);
    this.bySid.delete(sid);
    this.messages.splice(this.messages.indexOf(message), 1);
  }

  require(sid: string): SandboxMessage {
    const message = this.bySid.get(sid);
    if (!message) {
      throw new TwilioError(404, 20404, `The requested resource /2010-04-01/Accounts/${this.account.sid}/Messages/${sid}.json was not found`);
    }
    return message;
  }

  close(): void {
    for (const message of this.messages) this.clearTimers(message);
  }

  private startLifecycle(message: SandboxMessage): void {
    const base = Date.now();
    const outcome = finalOutcome(message.to);
    const since = () => Date.now() - base;
    this.at(message, this.timing.sendingMs - since(), () => this.transition(message, 'sending'));
    this.at(message, this.timing.sentMs - since(), () => {
      message.dateSent = new Date();
      message.price = (-pricePerSegment(message.to) * message.numSegments).toFixed(5);
      if (outcome.status === 'failed') {
        message.errorCode = outcome.errorCode;
        message.errorMessage = outcome.errorMessage;
        message.price = null;
        this.transition(message, 'failed');
      } else {
        this.transition(message, 'sent');
      }
    });
    if (outcome.status !== 'failed') {
      this.at(message, this.timing.deliveredMs - since(), () => {
        message.errorCode = outcome.errorCode;
        message.errorMessage = outcome.errorMessage;
        this.transition(message, outcome.status);
      });
    }
  }

  private at(message: SandboxMessage, delayMs: number, action: () => void): void {
    // Long schedules must not keep a process alive that would otherwise exit.
    const timer = setTimeout(action, Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
    timer.unref();
    message.timers.push(timer);
  }

  private clearTimers(message: SandboxMessage): void {
    for (const timer of message.timers) clearTimeout(timer);
    message.timers = [];
  }

  private transition(message: SandboxMessage, status: string): void {
    message.status = status;
    message.dateUpdated = new Date();
    if (!message.statusCallback) return;
    const params: Record<string, string> = {
      MessageSid: message.sid,
      SmsSid: message.sid,
      SmsStatus: status,
      MessageStatus: status,
      AccountSid: this.account.sid,
      From: message.from ?? '',
      To: message.to,
      ApiVersion: '2010-04-01',
    };
    if (message.messagingServiceSid) params.MessagingServiceSid = message.messagingServiceSid;
    if (message.errorCode !== null) params.ErrorCode = String(message.errorCode);
    if (status === 'delivered' || status === 'undelivered') params.RawDlrDoneDate = formatDlrDate(new Date());
    void this.webhooks.post(message.statusCallback, params);
  }
}

/** Carrier delivery-receipt time, YYMMDDhhmm, as captured payloads show it. */
function formatDlrDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${String(d.getUTCFullYear()).slice(2)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}

export function messageJson(accountSid: string, m: SandboxMessage) {
  const uri = `/2010-04-01/Accounts/${accountSid}/Messages/${m.sid}.json`;
  return {
    account_sid: accountSid,
    api_version: '2010-04-01',
    body: m.body,
    date_created: rfc2822(m.dateCreated),
    date_sent: m.dateSent ? rfc2822(m.dateSent) : null,
    date_updated: rfc2822(m.dateUpdated),
    direction: m.direction,
    error_code: m.errorCode,
    error_message: m.errorMessage,
    from: m.from,
    messaging_service_sid: m.messagingServiceSid,
    num_media: String(m.media.length),
    num_segments: String(m.numSegments),
    price: m.price,
    price_unit: 'USD',
    sid: m.sid,
    status: m.status,
    subresource_uris: {
      media: `/2010-04-01/Accounts/${accountSid}/Messages/${m.sid}/Media.json`,
      feedback: `/2010-04-01/Accounts/${accountSid}/Messages/${m.sid}/Feedback.json`,
    },
    to: m.to,
    uri,
  };
}

export function mediaJson(accountSid: string, message: SandboxMessage, media: SandboxMedia) {
  return {
    account_sid: accountSid,
    content_type: media.contentType,
    date_created: rfc2822(media.dateCreated),
    date_updated: rfc2822(media.dateCreated),
    parent_sid: message.sid,
    sid: media.sid,
    uri: `/2010-04-01/Accounts/${accountSid}/Messages/${message.sid}/Media/${media.sid}.json`,
  };
}

/** Twilio's DateSent filters: a date means the whole UTC day; a time is exact. */
export function dateSentFilter(query: Params): (m: SandboxMessage) => boolean {
  const on = first(query, 'DateSent');
  const before = first(query, 'DateSent<');
  const after = first(query, 'DateSent>');
  if (!on && !before && !after) return () => true;
  const dayOnly = (v: string) => /^\d{4}-\d{2}-\d{2}$/.test(v);
  const parse = (name: string, v: string) => {
    const t = Date.parse(dayOnly(v) ? `${v}T00:00:00Z` : v);
    if (Number.isNaN(t)) throw new TwilioError(400, 20001, `Invalid ${name}: ${v}`);
    return t;
  };
  const DAY = 86_400_000;
  const ranges: Array<(t: number) => boolean> = [];
  if (on) {
    const start = parse('DateSent', on);
    ranges.push((t) => t >= start && t < start + DAY);
  }
  if (after) {
    const start = parse('DateSent>', after);
    ranges.push((t) => t >= start);
  }
  if (before) {
    const end = parse('DateSent<', before) + (dayOnly(before) ? DAY : 1);
    ranges.push((t) => t < end);
  }
  return (m) => m.dateSent !== null && ranges.every((r) => r(m.dateSent!.getTime()));
}
