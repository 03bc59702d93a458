/**
 * Verify v2 on the verify host (`verify.twilio.com/v2`): Services, Verifications and
 * VerificationCheck. v2 wire format: ISO 8601 dates without milliseconds, absolute URLs
 * on https://verify.twilio.com, `meta` paging. The sandbox generates each code and
 * DELIVERS it as the channel would, into the device log (device-log.ts), so a test reads
 * the code where a person would: the phone's messages, its calls, or the mailbox.
 *
 * Rules, from Twilio's documentation (error pages 60200, 60202, 60203 and "Rate Limits and
 * Timeouts"):
 * - A verification lives 10 minutes from its creation; after that it is gone (20404).
 * - The code "remains the same during its validity period": starting a verification to a
 *   To that has a pending one re-sends the SAME code on the channel asked for, appends to
 *   `send_code_attempts` and keeps the SID. The 6th send within its life is 429/60203.
 * - 5 checks with a wrong code are allowed (each 200, `status: pending`, `valid: false`;
 *   the 5th answers `max_attempts_reached`); any further check is 429/60202, and a new
 *   verification to that To waits until the blocked one expires (also 60202).
 * - Approved and canceled verifications are finished: a check or an update of one is
 *   20404; a fetch still shows it until it expires.
 * - Invalid parameters are 400/60200 "Invalid parameter: <Name>"; a missing required one is
 *   400/20001 "Missing required parameter <Name> in the post body".
 *
 * Time comes from `now()` (default the wall clock) so tests move it instead of waiting.
 */
import { randomInt } from 'node:crypto';
import type { DeviceEntryKind, DeviceLog } from './device-log.js';
import { isoSeconds } from './messaging-services.js';
import { paginateMeta } from './paging.js';
import type { Reply } from './router.js';
import { first, newSid, type Params, TwilioError } from './wire.js';

export const VERIFY_HOST = 'https://verify.twilio.com';
export const VERIFICATION_LIFETIME_MS = 10 * 60 * 1000;
export const MAX_SEND_ATTEMPTS = 5;
export const MAX_CHECK_ATTEMPTS = 5;

export type VerifyChannel = 'sms' | 'call' | 'whatsapp' | 'email';
export type VerificationStatus = 'pending' | 'approved' | 'canceled' | 'max_attempts_reached';

const CHANNELS = new Set<string>(['sms', 'call', 'whatsapp', 'email']);
const E164 = /^\+[1-9]\d{1,14}$/;
// Deliberately plain: one @, a dot in the domain, no spaces. Twilio's own check is not published.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface VerifyService {
  sid: string;
  friendlyName: string;
  codeLength: number;
  lookupEnabled: boolean;
  psd2Enabled: boolean;
  skipSmsToLandlines: boolean;
  dtmfInputRequired: boolean;
  ttsName: string | null;
  doNotShareWarningEnabled: boolean;
  customCodeEnabled: boolean;
  push: { includeDate: boolean; apnCredentialSid: string | null; fcmCredentialSid: string | null };
  totp: { issuer: string | null; timeStep: number; codeLength: number; skew: number };
  defaultTemplateSid: string | null;
  whatsapp: { msgServiceSid: string | null; from: string | null };
  verifyEventSubscriptionEnabled: boolean;
  dateCreated: Date;
  dateUpdated: Date;
}

export interface SendCodeAttempt {
  attemptSid: string;
  channel: VerifyChannel;
  time: Date;
}

export interface Verification {
  sid: string;
  serviceSid: string;
  to: string;
  channel: VerifyChannel;
  status: VerificationStatus;
  code: string;
  locale: string | null;
  amount: string | null;
  payee: string | null;
  checkAttempts: number;
  sendCodeAttempts: SendCodeAttempt[];
  dateCreated: Date;
  dateUpdated: Date;
}

export interface VerifyOptions {
  /** The clock; tests move it to expire verifications. Default: the wall clock. */
  now?: () => Date;
  /** Makes codes predictable in tests. Default: uniformly random digits. */
  generateCode?: (length: number) => string;
}

const invalid = (name: string) => new TwilioError(400, 60200, `Invalid parameter: ${name}`);
const missing = (name: string) => new TwilioError(400, 20001, `Missing required parameter ${name} in the post body`);
// Twilio's v2 products name the resource without the version in a 404.
const notFound = (resource: string) => new TwilioError(404, 20404, `The requested resource ${resource} was not found`);

function randomDigits(length: number): string {
  let code = '';
  for (let i = 0; i < length; i++) code += String(randomInt(10));
  return code;
}

function parseBoolean(form: Params, name: string): boolean | undefined {
  const value = first(form, name);
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'True') return true;
  if (value === 'false' || value === 'False') return false;
  throw invalid(name);
}

function parseInteger(form: Params, name: string, min: number, max: number): number | undefined {
  const value = first(form, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw invalid(name);
  return n;
}

function optionalText(form: Params, name: string): string | null | undefined {
  const value = first(form, name);
  return value === undefined ? undefined : value === '' ? null : value;
}

export class VerifyStore {
  /** Creation order. */
  private readonly services = new Map<string, VerifyService>();
  /** Creation order; expired ones are dropped when met. */
  private readonly verifications = new Map<string, Verification>();
  /** Every verification ever started, expired and deleted ones too: an approved one stays billed (usage.ts). */
  private readonly history: Verification[] = [];
  readonly now: () => Date;
  private readonly generateCode: (length: number) => string;

  constructor(
    readonly accountSid: string,
    private readonly devices: DeviceLog,
    options: VerifyOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.generateCode = options.generateCode ?? randomDigits;
  }

  // ── Services ──────────────────────────────────────────────────────────────

  listServices(): VerifyService[] {
    return [...this.services.values()];
  }

  requireService(sid: string): VerifyService {
    const service = this.services.get(sid);
    if (!service) throw notFound(`/Services/${sid}`);
    return service;
  }

  createService(form: Params): VerifyService {
    const friendlyName = first(form, 'FriendlyName');
    if (friendlyName === undefined || friendlyName === '') throw missing('FriendlyName');
    const now = this.now();
    const service: VerifyService = {
      sid: newSid('VA'),
      friendlyName,
      codeLength: 6,
      lookupEnabled: false,
      psd2Enabled: false,
      skipSmsToLandlines: false,
      dtmfInputRequired: false,
      ttsName: null,
      doNotShareWarningEnabled: false,
      customCodeEnabled: false,
      push: { includeDate: false, apnCredentialSid: null, fcmCredentialSid: null },
      totp: { issuer: friendlyName, timeStep: 30, codeLength: 6, skew: 1 },
      defaultTemplateSid: null,
      whatsapp: { msgServiceSid: null, from: null },
      verifyEventSubscriptionEnabled: false,
      dateCreated: now,
      dateUpdated: now,
    };
    applyServiceParams(service, form);
    this.services.set(service.sid, service);
    return service;
  }

  updateService(sid: string, form: Params): VerifyService {
    const service = this.requireService(sid);
    const draft = structuredClone(service);
    applyServiceParams(draft, form);
    Object.assign(service, draft, { dateUpdated: this.now() });
    return service;
  }

  deleteService(sid: string): void {
    this.requireService(sid);
    this.services.delete(sid);
    for (const [key, v] of this.verifications) if (v.serviceSid === sid) this.verifications.delete(key);
  }

  // ── Verifications ─────────────────────────────────────────────────────────

  private expired(v: Verification): boolean {
    return this.now().getTime() - v.dateCreated.getTime() >= VERIFICATION_LIFETIME_MS;
  }

  /** The service's live verification for a To (the newest), dropping expired ones on the way. */
  private liveFor(serviceSid: string, to: string): Verification | undefined {
    let found: Verification | undefined;
    for (const v of [...this.verifications.values()]) {
      if (this.expired(v)) {
        this.verifications.delete(v.sid);
        continue;
      }
      if (v.serviceSid === serviceSid && v.to === to) found = v;
    }
    return found;
  }

  private live(serviceSid: string, sidOrTo: string): Verification | undefined {
    if (/^VE[0-9a-fA-F]{32}$/.test(sidOrTo)) {
      const v = this.verifications.get(sidOrTo);
      if (!v || v.serviceSid !== serviceSid) return undefined;
      if (this.expired(v)) {
        this.verifications.delete(v.sid);
        return undefined;
      }
      return v;
    }
    return this.liveFor(serviceSid, canonicalTo(sidOrTo));
  }

  /** Fetch by SID or by To; 20404 once expired (or never known). */
  requireVerification(serviceSid: string, sidOrTo: string): Verification {
    this.requireService(serviceSid);
    const v = this.live(serviceSid, sidOrTo);
    if (!v) throw notFound(`/Services/${serviceSid}/Verifications/${sidOrTo}`);
    return v;
  }

  /** Every verification ever started, expired ones too, oldest first (read-only; for the usage ledger). */
  everStarted(): readonly Verification[] {
    return this.history;
  }

  /** The code a pending verification expects (for embedders' tests; the REST API never shows it). */
  codeOf(serviceSid: string, sidOrTo: string): string | undefined {
    const v = this.live(serviceSid, sidOrTo);
    return v?.status === 'pending' ? v.code : undefined;
  }

  startVerification(serviceSid: string, form: Params): Verification {
    const service = this.requireService(serviceSid);
    const rawTo = first(form, 'To');
    if (rawTo === undefined || rawTo === '') throw missing('To');
    const channelParam = first(form, 'Channel');
    if (channelParam === undefined || channelParam === '') throw missing('Channel');
    if (!CHANNELS.has(channelParam)) throw invalid('Channel');
    const channel = channelParam as VerifyChannel;
    const to = canonicalTo(rawTo);
    if (channel === 'email' ? !EMAIL.test(to) : !E164.test(to)) throw invalid('To');
    const locale = first(form, 'Locale');
    if (locale !== undefined && !/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(locale)) throw invalid('Locale');
    const customCode = first(form, 'CustomCode');
    if (customCode !== undefined) {
      if (!service.customCodeEnabled) throw invalid('CustomCode');
      if (!/^\d{4,10}$/.test(customCode)) throw invalid('CustomCode');
    }
    const amount = first(form, 'Amount') ?? null;
    const payee = first(form, 'Payee') ?? null;
    if (service.psd2Enabled && (amount === null || payee === null)) {
      throw new TwilioError(400, 60206, "'Amount' & 'Payee' params are required");
    }

    const now = this.now();
    const existing = this.liveFor(serviceSid, to);
    if (existing?.status === 'max_attempts_reached') throw new TwilioError(429, 60202, 'Max check attempts reached');
    let verification: Verification;
    if (existing?.status === 'pending') {
      if (existing.sendCodeAttempts.length >= MAX_SEND_ATTEMPTS) throw new TwilioError(429, 60203, 'Max send attempts reached');
      verification = existing;
      verification.channel = channel;
      if (locale !== undefined) verification.locale = locale;
      verification.dateUpdated = now;
    } else {
      verification = {
        sid: newSid('VE'),
        serviceSid,
        to,
        channel,
        status: 'pending',
        code: customCode ?? this.generateCode(service.codeLength),
        locale: locale ?? null,
        amount: service.psd2Enabled ? amount : null,
        payee: service.psd2Enabled ? payee : null,
        checkAttempts: 0,
        sendCodeAttempts: [],
        dateCreated: now,
        dateUpdated: now,
      };
      this.verifications.set(verification.sid, verification);
      this.history.push(verification);
    }
    verification.sendCodeAttempts.push({ attemptSid: newSid('VL'), channel, time: now });
    this.deliver(service, verification, now);
    return verification;
  }

  /** Puts the code where the channel would: the phone's messages or calls, or the mailbox. */
  private deliver(service: VerifyService, v: Verification, at: Date): void {
    const text = `Your ${service.friendlyName} verification code is: ${v.code}`;
    const kinds: Record<VerifyChannel, DeviceEntryKind> = { sms: 'sms', whatsapp: 'whatsapp', call: 'call', email: 'email' };
    const kind = kinds[v.channel];
    if (kind === 'call') {
      // Twilio's voice reads the digits one by one, then repeats them.
      const spoken = v.code.split('').join(', ');
      const body = `Your ${service.friendlyName} verification code is: ${spoken}. Once again, your code is: ${spoken}.`;
      this.devices.record(v.to, { kind, from: service.friendlyName, body, at });
    } else if (kind === 'email') {
      this.devices.record(v.to, { kind, from: 'no-reply@verify.twilio.com', subject: `Your ${service.friendlyName} verification code`, body: `${text}.`, at });
    } else {
      const warning = service.doNotShareWarningEnabled ? '. Don’t share this code with anyone; our employees will never ask for the code' : '';
      this.devices.record(v.to, { kind, from: service.friendlyName, body: `${text}${warning}`, at });
    }
  }

  /** POST …/Verifications/{Sid or To} with Status=canceled|approved; only a pending one changes. */
  updateVerification(serviceSid: string, sidOrTo: string, form: Params): Verification {
    this.requireService(serviceSid);
    const status = first(form, 'Status');
    if (status === undefined || status === '') throw missing('Status');
    if (status !== 'canceled' && status !== 'approved') throw invalid('Status');
    const v = this.live(serviceSid, sidOrTo);
    if (!v || (v.status !== 'pending' && v.status !== 'max_attempts_reached')) throw notFound(`/Services/${serviceSid}/Verifications/${sidOrTo}`);
    v.status = status;
    v.dateUpdated = this.now();
    return v;
  }

  /** VerificationCheck: the code against the To's (or the SID's) live verification. */
  check(serviceSid: string, form: Params): Verification {
    this.requireService(serviceSid);
    const code = first(form, 'Code');
    const to = first(form, 'To');
    const verificationSid = first(form, 'VerificationSid');
    if (code === undefined || code === '') throw missing('Code');
    if (!/^\d{4,10}$/.test(code)) throw invalid('Code');
    if (!to && !verificationSid) throw missing('To');
    if (verificationSid !== undefined && !/^VE[0-9a-fA-F]{32}$/.test(verificationSid)) throw invalid('VerificationSid');
    const v = verificationSid ? this.live(serviceSid, verificationSid) : this.liveFor(serviceSid, canonicalTo(to!));
    if (!v || (to && verificationSid && v.to !== canonicalTo(to)) || v.status === 'approved' || v.status === 'canceled') {
      throw notFound(`/Services/${serviceSid}/VerificationCheck`);
    }
    if (v.status === 'max_attempts_reached') throw new TwilioError(429, 60202, 'Max check attempts reached');
    v.dateUpdated = this.now();
    if (code === v.code) {
      v.status = 'approved';
      return v;
    }
    v.checkAttempts += 1;
    if (v.checkAttempts >= MAX_CHECK_ATTEMPTS) v.status = 'max_attempts_reached';
    return v;
  }
}

/** Email addresses compare case-insensitively, as mailboxes do; phone numbers as given. */
function canonicalTo(to: string): string {
  return to.includes('@') ? to.trim().toLowerCase() : to.trim();
}

function applyServiceParams(service: VerifyService, form: Params): void {
  const friendlyName = first(form, 'FriendlyName');
  if (friendlyName !== undefined) {
    // Twilio: at most 30 characters (60200 names FriendlyName).
    if (friendlyName === '' || friendlyName.length > 30) throw invalid('FriendlyName');
    service.friendlyName = friendlyName;
  }
  service.codeLength = parseInteger(form, 'CodeLength', 4, 10) ?? service.codeLength;
  service.lookupEnabled = parseBoolean(form, 'LookupEnabled') ?? service.lookupEnabled;
  service.psd2Enabled = parseBoolean(form, 'Psd2Enabled') ?? service.psd2Enabled;
  service.skipSmsToLandlines = parseBoolean(form, 'SkipSmsToLandlines') ?? service.skipSmsToLandlines;
  service.dtmfInputRequired = parseBoolean(form, 'DtmfInputRequired') ?? service.dtmfInputRequired;
  service.doNotShareWarningEnabled = parseBoolean(form, 'DoNotShareWarningEnabled') ?? service.doNotShareWarningEnabled;
  service.customCodeEnabled = parseBoolean(form, 'CustomCodeEnabled') ?? service.customCodeEnabled;
  service.verifyEventSubscriptionEnabled = parseBoolean(form, 'VerifyEventSubscriptionEnabled') ?? service.verifyEventSubscriptionEnabled;
  const ttsName = optionalText(form, 'TtsName');
  if (ttsName !== undefined) service.ttsName = ttsName;
  const template = optionalText(form, 'DefaultTemplateSid');
  if (template !== undefined) {
    if (template !== null && !/^HJ[0-9a-fA-F]{32}$/.test(template)) throw invalid('DefaultTemplateSid');
    service.defaultTemplateSid = template;
  }
  service.push.includeDate = parseBoolean(form, 'Push.IncludeDate') ?? service.push.includeDate;
  const apn = optionalText(form, 'Push.ApnCredentialSid');
  if (apn !== undefined) service.push.apnCredentialSid = apn;
  const fcm = optionalText(form, 'Push.FcmCredentialSid');
  if (fcm !== undefined) service.push.fcmCredentialSid = fcm;
  const issuer = optionalText(form, 'Totp.Issuer');
  if (issuer !== undefined) service.totp.issuer = issuer;
  service.totp.timeStep = parseInteger(form, 'Totp.TimeStep', 20, 60) ?? service.totp.timeStep;
  service.totp.codeLength = parseInteger(form, 'Totp.CodeLength', 3, 8) ?? service.totp.codeLength;
  service.totp.skew = parseInteger(form, 'Totp.Skew', 0, 2) ?? service.totp.skew;
  const msgService = optionalText(form, 'Whatsapp.MsgServiceSid');
  if (msgService !== undefined) service.whatsapp.msgServiceSid = msgService;
  const whatsappFrom = optionalText(form, 'Whatsapp.From');
  if (whatsappFrom !== undefined) service.whatsapp.from = whatsappFrom;
}

// ── JSON ────────────────────────────────────────────────────────────────────

export function verifyServiceJson(accountSid: string, s: VerifyService) {
  const url = `${VERIFY_HOST}/v2/Services/${s.sid}`;
  const links = Object.fromEntries(
    [
      ['verification_checks', 'VerificationCheck'], ['verifications', 'Verifications'], ['rate_limits', 'RateLimits'],
      ['messaging_configurations', 'MessagingConfigurations'], ['entities', 'Entities'], ['webhooks', 'Webhooks'],
      ['access_tokens', 'AccessTokens'],
    ].map(([key, name]) => [key, `${url}/${name}`]),
  );
  return {
    sid: s.sid,
    account_sid: accountSid,
    friendly_name: s.friendlyName,
    code_length: s.codeLength,
    lookup_enabled: s.lookupEnabled,
    psd2_enabled: s.psd2Enabled,
    skip_sms_to_landlines: s.skipSmsToLandlines,
    dtmf_input_required: s.dtmfInputRequired,
    tts_name: s.ttsName,
    do_not_share_warning_enabled: s.doNotShareWarningEnabled,
    custom_code_enabled: s.customCodeEnabled,
    push: { include_date: s.push.includeDate, apn_credential_sid: s.push.apnCredentialSid, fcm_credential_sid: s.push.fcmCredentialSid },
    totp: { issuer: s.totp.issuer, time_step: s.totp.timeStep, code_length: s.totp.codeLength, skew: s.totp.skew },
    default_template_sid: s.defaultTemplateSid,
    whatsapp: { msg_service_sid: s.whatsapp.msgServiceSid, from: s.whatsapp.from },
    verify_event_subscription_enabled: s.verifyEventSubscriptionEnabled,
    date_created: isoSeconds(s.dateCreated),
    date_updated: isoSeconds(s.dateUpdated),
    url,
    links,
  };
}

/** As Twilio's own examples write the attempt's channel: SMS, CALL and EMAIL upper-case, whatsapp lower. */
const ATTEMPT_CHANNEL: Record<VerifyChannel, string> = { sms: 'SMS', call: 'CALL', email: 'EMAIL', whatsapp: 'whatsapp' };

export function verificationJson(accountSid: string, v: Verification) {
  return {
    sid: v.sid,
    service_sid: v.serviceSid,
    account_sid: accountSid,
    to: v.to,
    channel: v.channel,
    status: v.status,
    valid: v.status === 'approved',
    lookup: {},
    amount: v.amount,
    payee: v.payee,
    send_code_attempts: v.sendCodeAttempts.map((a) => ({ time: isoSeconds(a.time), channel: ATTEMPT_CHANNEL[a.channel], attempt_sid: a.attemptSid })),
    date_created: isoSeconds(v.dateCreated),
    date_updated: isoSeconds(v.dateUpdated),
    sna: null,
    url: `${VERIFY_HOST}/v2/Services/${v.serviceSid}/Verifications/${v.sid}`,
  };
}

export function verificationCheckJson(accountSid: string, v: Verification) {
  return {
    sid: v.sid,
    service_sid: v.serviceSid,
    account_sid: accountSid,
    to: v.to,
    channel: v.channel,
    status: v.status,
    valid: v.status === 'approved',
    amount: v.amount,
    payee: v.payee,
    sna_attempts_error_codes: [],
    date_created: isoSeconds(v.dateCreated),
    date_updated: isoSeconds(v.dateUpdated),
  };
}

// ── Routes ──────────────────────────────────────────────────────────────────

const VERIFY_PATH = /^\/v2\/Services(?:\/([^/]+)(?:\/(Verifications|VerificationCheck)(?:\/([^/]+))?)?)?$/;

/** True for the paths verifyRoute answers (`/v2/Services…`; Messaging's are `/v1/…`). */
export function isVerifyPath(path: string): boolean {
  return VERIFY_PATH.test(path);
}

/**
 * The Verify routes. `path` is the request path as received (percent-encoded): a To in a
 * Verifications path is decoded with decodeURIComponent, so a raw `+` stays a plus.
 * Undefined for a path or method this product does not have.
 */
export function verifyRoute(store: VerifyStore, method: string, path: string, query: Params, form: Params): Reply | undefined {
  const match = VERIFY_PATH.exec(path);
  if (!match) return undefined;
  const [, serviceSid, sub, rawId] = match;
  const account = store.accountSid;
  if (serviceSid === undefined) {
    if (method === 'POST') return { status: 201, body: verifyServiceJson(account, store.createService(form)) };
    if (method === 'GET') {
      return { status: 200, body: paginateMeta(store.listServices(), query, `${VERIFY_HOST}/v2/Services`, 'services', (s) => verifyServiceJson(account, s)) };
    }
    return undefined;
  }
  if (sub === undefined) {
    if (method === 'GET') return { status: 200, body: verifyServiceJson(account, store.requireService(serviceSid)) };
    if (method === 'POST') return { status: 200, body: verifyServiceJson(account, store.updateService(serviceSid, form)) };
    if (method === 'DELETE') {
      store.deleteService(serviceSid);
      return { status: 204 };
    }
    return undefined;
  }
  if (sub === 'VerificationCheck') {
    if (rawId !== undefined || method !== 'POST') return undefined;
    return { status: 200, body: verificationCheckJson(account, store.check(serviceSid, form)) };
  }
  if (rawId === undefined) {
    if (method !== 'POST') return undefined;
    return { status: 201, body: verificationJson(account, store.startVerification(serviceSid, form)) };
  }
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    throw notFound(`/Services/${serviceSid}/Verifications/${rawId}`);
  }
  if (method === 'GET') return { status: 200, body: verificationJson(account, store.requireVerification(serviceSid, id)) };
  if (method === 'POST') return { status: 200, body: verificationJson(account, store.updateVerification(serviceSid, id, form)) };
  return undefined;
}
