/**
 * CreateMessage validation, in the order Twilio applies it, each refusal with Twilio's
 * code (HTTP 400). Codes, from Twilio's error pages:
 *   21604 To missing · 21603 neither From nor MessagingServiceSid · 21602 no Body, MediaUrl
 *   or ContentSid · 21617 Body over 1600 characters · 21623 over 10 MediaUrl · 21620 a
 *   MediaUrl not http(s) · 21654 ContentVariables without ContentSid · 21655 ContentSid not
 *   HX + 32 hex · 21656 ContentVariables not a JSON object · 21609 StatusCallback not an
 *   http(s) URL, or one the callback policy refuses (loopback that is not the embedder's own
 *   receiver, callback-policy.ts)
 *   · 21705 MessagingServiceSid not MG + 32 hex · 21701 a well-formed service that is not
 *   this account's · 21211 To not a phone number · magic numbers (magic-numbers.ts) ·
 *   21212 From not a number, short code or alphanumeric ID · 21606 From not this account's
 *   · 21910 From and To on different channels (SMS vs WhatsApp) · scheduling: 35126
 *   ScheduleType other than 'fixed' (or SendAt without it) · 35111 ScheduleType=fixed
 *   without SendAt · 35118 scheduling without a Messaging Service · 35114 SendAt not an
 *   ISO 8601 time between 5 minutes and 35 days ahead.
 */
import type { Account } from './account.js';
import { callbackRefusal, type CallbackPolicy } from './callback-policy.js';
import { applyMagicNumbers } from './magic-numbers.js';
import { first, type Params, TwilioError } from './wire.js';

export interface CreateRequest {
  to: string;
  /** As given; null when only a Messaging Service was named. */
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  mediaUrls: string[];
  statusCallback: string | null;
  sendAt: Date | null;
  /** null for free text: WhatsApp sends it only inside the 24-hour customer-service window. */
  contentSid: string | null;
  /** `SmartEncoded=true`: GSM-7 look-alikes replace the characters that have one. */
  smartEncoded: boolean;
}

const MAX_BODY_CHARS = 1600;
const MAX_MEDIA = 10;
const E164 = /^\+[1-9]\d{1,14}$/;
const HTTP_URL = /^https?:\/\/[^\s/?#]+\S*$/i;
const SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;
const CONTENT_SID = /^HX[0-9a-fA-F]{32}$/;
/**
 * Twilio's current error pages (35114, 35115) give the window as more than 300 seconds and
 * at most 35 days ahead; older pages said 900 seconds. The newer, wider window is used:
 * a client that keeps to 15 minutes passes both.
 */
export const MIN_SCHEDULE_MS = 300 * 1000;
export const MAX_SCHEDULE_MS = 35 * 24 * 60 * 60 * 1000;

const bad = (code: number, message: string) => new TwilioError(400, code, message);
const channelOf = (address: string) => (address.startsWith('whatsapp:') ? 'whatsapp' : 'sms');
const addressOf = (address: string) => address.replace(/^whatsapp:/, '');

/** A sender Twilio would accept in shape: E.164, a short code, or an alphanumeric sender ID. */
function isSenderShape(from: string): boolean {
  const bare = addressOf(from);
  return E164.test(bare) || /^\d{5,6}$/.test(bare) || (/^[A-Za-z0-9 ]{1,11}$/.test(bare) && /[A-Za-z]/.test(bare));
}

export function validateCreate(params: Params, account: Account, now: number, callbackPolicy?: CallbackPolicy): CreateRequest {
  const to = first(params, 'To')?.trim() ?? '';
  let from = first(params, 'From')?.trim() || null;
  let serviceSid = first(params, 'MessagingServiceSid')?.trim() || null;
  // Twilio lets the From parameter carry a Messaging Service SID instead of a number.
  if (from && /^MG/.test(from) && !serviceSid) {
    serviceSid = from;
    from = null;
  }
  const body = first(params, 'Body') ?? '';
  const mediaUrls = (params.get('MediaUrl') ?? []).filter((u) => u !== '');
  const contentSid = first(params, 'ContentSid')?.trim() || null;
  const contentVariables = first(params, 'ContentVariables');
  const statusCallback = first(params, 'StatusCallback')?.trim() || null;
  const sendAt = first(params, 'SendAt')?.trim() || null;
  const scheduleType = first(params, 'ScheduleType')?.trim() || null;

  if (!to) throw bad(21604, "A 'To' phone number is required.");
  if (!from && !serviceSid) throw bad(21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.");
  if (!body && mediaUrls.length === 0 && !contentSid) throw bad(21602, 'Message body is required.');
  // Twilio's limit is in characters; an emoji is one character here, two UTF-16 units.
  if ([...body].length > MAX_BODY_CHARS) throw bad(21617, 'The concatenated message body exceeds the 1600 character limit.');
  if (mediaUrls.length > MAX_MEDIA) throw bad(21623, 'Number of media files exceeds allowed limit of 10.');
  for (const url of mediaUrls) if (!HTTP_URL.test(url)) throw bad(21620, `Invalid media URL(s): ${url}`);
  if (contentVariables !== undefined && !contentSid) throw bad(21654, 'A ContentSid must be specified if ContentVariables are provided in the request.');
  if (contentSid && !CONTENT_SID.test(contentSid)) throw bad(21655, `The ContentSid is Invalid: ${contentSid}`);
  if (contentVariables !== undefined && !isJsonObject(contentVariables)) throw bad(21656, 'The ContentVariables Parameter is invalid.');
  if (statusCallback) {
    const why = HTTP_URL.test(statusCallback) ? callbackRefusal(statusCallback, callbackPolicy) : 'it is not an http(s) URL';
    if (why) throw bad(21609, `Invalid StatusCallback url ${statusCallback}: ${why}.`);
  }
  if (serviceSid && !SERVICE_SID.test(serviceSid)) throw bad(21705, `The Messaging Service Sid ${serviceSid} is invalid.`);
  if (serviceSid && serviceSid !== account.messagingServiceSid) {
    throw bad(21701, `The Messaging Service ${serviceSid} does not exist or does not belong to this account.`);
  }
  if (!E164.test(addressOf(to))) throw bad(21211, `The 'To' number ${to} is not a valid phone number.`);

  applyMagicNumbers(from ?? undefined, to);

  if (from) {
    if (!isSenderShape(from)) throw bad(21212, `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`);
    const owned = account.numbers.some((n) => n.phoneNumber === addressOf(from!));
    if (!owned) {
      throw bad(21606, `The 'From' phone number provided (${from}) is not a valid message-capable Twilio phone number for this destination/account.`);
    }
    if (channelOf(from) !== channelOf(to)) throw bad(21910, 'Invalid From and To pair. From and To should be of the same channel.');
  }

  return {
    to,
    from,
    messagingServiceSid: serviceSid,
    body: body || (contentSid ? renderTemplatePlaceholder(contentSid, contentVariables) : ''),
    mediaUrls,
    statusCallback,
    sendAt: scheduleOf(sendAt, scheduleType, serviceSid, now),
    contentSid,
    smartEncoded: first(params, 'SmartEncoded')?.trim().toLowerCase() === 'true',
  };
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * The sandbox has no Content API, so it cannot render the template; the body it stores
 * says which template and variables were sent, which is what a test wants to see.
 */
function renderTemplatePlaceholder(contentSid: string, variables: string | undefined): string {
  return variables ? `[content template ${contentSid} ${variables}]` : `[content template ${contentSid}]`;
}

function scheduleOf(sendAt: string | null, scheduleType: string | null, serviceSid: string | null, now: number): Date | null {
  if (!sendAt && !scheduleType) return null;
  if (scheduleType !== 'fixed') {
    // Sending at once a message meant for later is the worse surprise: refuse instead.
    throw bad(35126, `The ScheduleType value provided is not supported: use ScheduleType 'fixed' with SendAt.`);
  }
  if (!sendAt) throw bad(35111, "You must indicate SendAt timestamp if ScheduleType is 'fixed'.");
  if (!serviceSid) throw bad(35118, 'MessagingServiceSid is required to schedule a message.');
  // ISO 8601 with a date and a time; Date.parse alone would take "tomorrow-ish" strings.
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(sendAt);
  const when = iso ? Date.parse(sendAt) : NaN;
  const ahead = when - now;
  if (Number.isNaN(when) || ahead < MIN_SCHEDULE_MS || ahead > MAX_SCHEDULE_MS) {
    throw bad(35114, 'Scheduling does not support this timestamp: SendAt time must be between 300 seconds and 35 days (3024000 seconds) in the future, inclusive.');
  }
  return new Date(when);
}
