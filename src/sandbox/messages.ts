/**
 * The Messages resource (2010-04-01): create, fetch, list, update (cancel, redact),
 * delete, media — with Twilio's validation, magic numbers, scheduling, lifecycle timers
 * and status callbacks. State lives in memory for the sandbox's lifetime.
 */
import type { Account } from './account.js';
import type { CallbackPolicy } from './callback-policy.js';
import { finalOutcome, type Outcome, priceFor, rawDlrDoneDate, type Timing, WHATSAPP_WINDOW_CLOSED, WHATSAPP_WINDOW_MS } from './lifecycle.js';
import { dateFilter } from './date-filter.js';
import { validateCreate } from './message-validation.js';
import { segmentsOf, smartEncode } from './segments.js';
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
  /** A WhatsApp template (ContentSid) may open a conversation; free text may not. */
  contentSid: string | null;
  dateCreated: Date;
  dateSent: Date | null;
  dateUpdated: Date;
  timers: NodeJS.Timeout[];
}

/** Only what the store needs from the webhook sender, so tests can record instead. */
export interface CallbackPoster {
  post(url: string, params: Record<string, string>): Promise<unknown>;
}

/** Statuses after which nothing more happens to a message: it may be redacted or deleted. */
const FINAL = new Set(['delivered', 'undelivered', 'failed', 'canceled', 'received', 'read']);
/** setTimeout's ceiling (~24.8 days); a later SendAt re-arms when this one fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function guessContentType(url: string): string {
  const ext = /\.([a-z0-9]+)(?:$|\?)/i.exec(url)?.[1]?.toLowerCase();
  const types: Record<string, string> = {
    jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp',
    pdf: 'application/pdf', mp4: 'video/mp4', mp3: 'audio/mpeg', ogg: 'audio/ogg', vcf: 'text/vcard',
  };
  return (ext && types[ext]) || 'application/octet-stream';
}

export class MessageStore {
  /** Oldest first; listing reverses. */
  private readonly messages: SandboxMessage[] = [];
  private readonly bySid = new Map<string, SandboxMessage>();
  /** Creation order of every SID ever created, deleted ones too, so a page token naming one still has a place. */
  private readonly sequence = new Map<string, number>();
  /** Every message ever created, deleted ones too, oldest first: Twilio bills a message it has sent even once deleted (usage.ts). */
  private readonly history: SandboxMessage[] = [];
  /** When a WhatsApp user last wrote to one of the account's WhatsApp senders, by `user sender`. */
  private readonly lastInbound = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly account: Account,
    private readonly timing: Timing,
    private readonly callbacks: CallbackPoster,
    private readonly callbackPolicy?: CallbackPolicy,
  ) {}

  get(sid: string): SandboxMessage | undefined {
    return this.bySid.get(sid);
  }

  /** Position in the newest-first listing, for page tokens (paging.ts). */
  listPosition(sid: string): number | undefined {
    const created = this.sequence.get(sid);
    return created === undefined ? undefined : -created;
  }

  /** Newest first, as Twilio lists. */
  all(): SandboxMessage[] {
    return [...this.messages].reverse();
  }

  /** Every message ever created, deleted ones too, oldest first (read-only; for the usage ledger). */
  everCreated(): readonly SandboxMessage[] {
    return this.history;
  }

  create(params: Params): SandboxMessage {
    const request = validateCreate(params, this.account, Date.now(), this.callbackPolicy);
    const body = request.smartEncoded ? smartEncode(request.body) : request.body;

    const now = new Date();
    const sender = this.account.numbers[0]!.phoneNumber;
    const channelSender = request.to.startsWith('whatsapp:') ? `whatsapp:${sender}` : sender;
    const viaService = request.messagingServiceSid !== null;
    const media = request.mediaUrls.map((url) => ({ sid: newSid('ME'), url, contentType: guessContentType(url), dateCreated: now }));
    const message: SandboxMessage = {
      sid: newSid(media.length > 0 ? 'MM' : 'SM'),
      // Via a service without From, Twilio picks the sender when it queues the message.
      from: request.from ?? null,
      to: request.to,
      body,
      status: request.sendAt ? 'scheduled' : viaService ? 'accepted' : 'queued',
      direction: 'outbound-api',
      numSegments: segmentsOf(body, media.length),
      media,
      price: null,
      errorCode: null,
      errorMessage: null,
      messagingServiceSid: request.messagingServiceSid,
      statusCallback: request.statusCallback,
      contentSid: request.contentSid,
      dateCreated: now,
      dateSent: null,
      dateUpdated: now,
      timers: [],
    };
    this.remember(message);

    const release = () => {
      message.from ??= channelSender;
      this.transition(message, 'queued');
      this.startLifecycle(message);
    };
    if (request.sendAt) this.atTime(message, request.sendAt.getTime(), release);
    else if (viaService) this.at(message, this.timing.sendingMs / 2, release);
    else this.startLifecycle(message);
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
      numSegments: segmentsOf(fields.body, fields.mediaUrls.length),
      media: fields.mediaUrls.map((url) => ({ sid: newSid('ME'), url, contentType: guessContentType(url), dateCreated: now })),
      price: null,
      errorCode: null,
      errorMessage: null,
      messagingServiceSid: fields.messagingServiceSid,
      statusCallback: null,
      contentSid: null,
      dateCreated: now,
      dateSent: now,
      dateUpdated: now,
      timers: [],
    };
    this.remember(message);
    // A user's message opens (or renews) the 24-hour window for free text back to them.
    if (fields.from.startsWith('whatsapp:')) this.lastInbound.set(`${fields.from} ${fields.to}`, now.getTime());
    return message;
  }

  private remember(message: SandboxMessage): void {
    this.messages.push(message);
    this.history.push(message);
    this.bySid.set(message.sid, message);
    this.sequence.set(message.sid, this.sequence.size);
  }

  /**
   * WhatsApp free text (no ContentSid) goes out only within 24 hours of the user's last
   * message to this sender; outside it Twilio accepts the request, then fails it with 63016.
   */
  private outcomeOf(message: SandboxMessage): Outcome {
    if (message.to.startsWith('whatsapp:') && message.contentSid === null) {
      const wroteAt = this.lastInbound.get(`${message.to} ${message.from}`);
      if (wroteAt === undefined || Date.now() - wroteAt > WHATSAPP_WINDOW_MS) return WHATSAPP_WINDOW_CLOSED;
    }
    return finalOutcome(message.to);
  }

  /**
   * Update does two things on Twilio: cancel a scheduled message (`Status=canceled`) and
   * redact a finished one (`Body=` empty). Anything else is refused.
   */
  update(sid: string, params: Params): SandboxMessage {
    const message = this.require(sid);
    const status = first(params, 'Status');
    const body = params.get('Body');
    if (status === undefined && body === undefined) {
      throw new TwilioError(400, 20001, 'Either Status or Body must be provided.');
    }
    if (status !== undefined) {
      if (status !== 'canceled') throw new TwilioError(400, 20001, `Invalid Status: ${status}. The only allowed value is 'canceled'.`);
      // 30409: only a scheduled message can be canceled; anything past that is refused.
      if (message.status !== 'scheduled') throw new TwilioError(400, 30409, 'This message cannot be canceled');
      this.clearTimers(message);
      this.transition(message, 'canceled');
    }
    if (body !== undefined) {
      if (body[0] !== '') throw new TwilioError(400, 20001, 'Body can only be updated to an empty string, which redacts the message.');
      // The same rule as DELETE: Twilio keeps the body until the message is done with.
      if (!FINAL.has(message.status)) throw new TwilioError(400, 20009, 'Cannot redact this message before it is complete');
      message.body = '';
      message.dateUpdated = new Date();
    }
    return message;
  }

  delete(sid: string): void {
    const message = this.require(sid);
    // 20009: Twilio refuses to delete a message its systems are still processing.
    if (!FINAL.has(message.status)) throw new TwilioError(400, 20009, 'Cannot delete this resource before it is complete');
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
    this.closed = true;
    for (const message of this.messages) this.clearTimers(message);
  }

  private startLifecycle(message: SandboxMessage): void {
    const base = Date.now();
    const outcome = this.outcomeOf(message);
    const since = () => Date.now() - base;
    this.at(message, this.timing.sendingMs - since(), () => this.transition(message, 'sending'));
    this.at(message, this.timing.sentMs - since(), () => {
      if (outcome.status === 'failed') {
        // A failed message never left Twilio: no date_sent, nothing billed.
        message.errorCode = outcome.errorCode;
        message.errorMessage = outcome.errorMessage;
        this.transition(message, 'failed');
        return;
      }
      message.dateSent = new Date();
      message.price = priceFor({ to: message.to, numSegments: message.numSegments, numMedia: message.media.length });
      this.transition(message, 'sent');
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
    if (this.closed) return;
    const timer = setTimeout(() => {
      message.timers = message.timers.filter((t) => t !== timer);
      action();
    }, Math.max(0, Math.min(delayMs, MAX_TIMER_MS)));
    // Timers (a SendAt weeks away above all) must not keep alive a process that would exit.
    timer.unref();
    message.timers.push(timer);
  }

  /** Runs `action` at an absolute time, re-arming past setTimeout's ~24.8-day ceiling. */
  private atTime(message: SandboxMessage, when: number, action: () => void): void {
    const delay = when - Date.now();
    if (delay > MAX_TIMER_MS) this.at(message, MAX_TIMER_MS, () => this.atTime(message, when, action));
    else this.at(message, delay, action);
  }

  private clearTimers(message: SandboxMessage): void {
    for (const timer of message.timers) clearTimeout(timer);
    message.timers = [];
  }

  private transition(message: SandboxMessage, status: string): void {
    message.status = status;
    message.dateUpdated = new Date();
    // Twilio passes through `sending` without a callback for it.
    if (!message.statusCallback || this.closed || status === 'sending') return;
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
    if (message.to.startsWith('whatsapp:')) {
      // WhatsApp receipts come from Meta, not a carrier: channel fields instead of RawDlrDoneDate.
      params.ChannelPrefix = 'whatsapp';
      params.ChannelInstallSid = this.account.whatsappChannelInstallSid;
      params.ChannelToAddress = message.to.slice('whatsapp:'.length);
    } else if (status === 'delivered' || status === 'undelivered') {
      params.RawDlrDoneDate = rawDlrDoneDate(new Date());
    }
    void this.callbacks.post(message.statusCallback, params).catch(() => undefined);
  }
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
    // Twilio has not segmented a message it has only accepted (sender not yet chosen).
    num_segments: m.status === 'accepted' ? '0' : String(m.numSegments),
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

/** Twilio's DateSent filters (date-filter.ts): a message never sent matches none of them. */
export function dateSentFilter(query: Params): (m: SandboxMessage) => boolean {
  return dateFilter<SandboxMessage>(query, 'DateSent', (m) => m.dateSent);
}
