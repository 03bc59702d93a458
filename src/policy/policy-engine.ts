/**
 * The send policy, applied to every outgoing message and call before Twilio is called.
 * Rule order: deny/allow numbers → destination country → quiet hours → duplicate → caps →
 * first contact: the rules about *who* first (they cannot be fixed by waiting), then
 * *when*, then *how much*. Each refusal names its rule (`extra.rule`), why, and what to do.
 *
 * The engine holds no state of its own: counts for caps, the duplicate check and first
 * contact come from the ledger (the store), so they survive restarts.
 *
 * Caps use calendar windows in UTC (this hour, this day) rather than rolling ones: a
 * refusal can say exactly when the cap resets (the top of the next UTC hour, or 00:00 UTC),
 * and an agent can plan around it. The price is a possible burst at a boundary (60 at
 * 10:59 and 60 at 11:00), which the daily caps still bound.
 */
import { ToolFailure } from '../errors/tool-failure.js';
import { lazy } from '../util/lazy.js';
import type { Policy } from './policy-schema.js';
import { DEFAULT_CALL_MINUTES_ESTIMATE, PriceTable } from './price-table.js';
import { hashBody, type LedgerKeys, type LedgerSnapshot, type SendLedger } from './send-ledger.js';
import type { OutgoingCall, OutgoingMessage, SendDecision } from './send-guard.js';
import { loadCountryNames } from './country-names.js';
import { quietHoursVerdict } from './time-zones.js';
import type { LivePrices, PriceSource } from './live-prices.js';

export type { SendLedger } from './send-ledger.js';

/** The policy wants the user to confirm a first contact; the tool layer asks (elicitation). */
export class NeedsConfirmation extends ToolFailure {
  /**
   * @param withoutElicitation what to do when the client cannot ask its user; undefined =
   * the policy's first_contact_without_elicitation (buying a number, which the operator
   * enabled on purpose, goes ahead).
   */
  constructor(
    readonly question: string,
    readonly withoutElicitation?: 'allow' | 'refuse',
  ) {
    super({ message: question, nextStep: 'Ask the user to confirm.', extra: { rule: withoutElicitation ? 'confirmation' : 'first_contact' } });
    this.name = 'NeedsConfirmation';
  }
}

/** A send the policy allows; refusals are thrown as ToolFailure, never returned. */
export interface MessageDecision extends SendDecision {
  allowed: true;
  priceSource?: PriceSource;
  segments: number;
  warnings: string[];
}

export interface CallDecision extends SendDecision {
  allowed: true;
  priceSource?: PriceSource;
  /** The minutes the spend estimate counted. */
  estimatedMinutes: number;
  warnings: string[];
}

export interface DescribeOptions {
  now?: Date;
  /** This server can place calls (the voice toolset is there): show call caps and prices. */
  calls?: boolean;
}

export interface CheckOptions {
  /** The moment to judge caps and duplicates at; the engine's clock when absent. */
  now?: Date;
  /** When the message will actually go out (send_at): quiet hours judge this moment. */
  sendAt?: Date;
}

/**
 * A send that passed every rule that needs no ledger (lists, country, quiet hours). The
 * rules that read the ledger (duplicate, caps, first contact) run in `decide`, inside the
 * store's reserving transaction, against the snapshot `ledgerKeys` names, so no other send
 * can slip in between decision and record.
 */
export interface PreparedSend {
  readonly subject: Readonly<Subject>;
  /** Where the cost estimate came from. */
  readonly priceSource?: PriceSource;
  /** Caps and the duplicate window count at this moment. */
  readonly at: Date;
  readonly segments: number;
  readonly estimatedMinutes?: number;
  readonly warnings: readonly string[];
}

/** Learns the countries of a Messaging Service's numbers (its senders). */
export type ServiceCountries = (serviceSid: string) => Promise<string[]>;

/** The rule a refusal came from, in `extra.rule` of the ToolFailure. */
export type PolicyRule = 'deny_numbers' | 'allow_numbers' | 'allowed_countries' | 'quiet_hours' | 'duplicate' | 'caps' | 'first_contact';

const strip = (n: string) => n.replace(/^whatsapp:/i, '');

// libphonenumber's metadata loads on the first check, not at start-up.
type PhoneLib = typeof import('libphonenumber-js/min');
let phoneLib: PhoneLib | undefined;
let mainCountryOfCallingCode: (code: string) => string | undefined = () => undefined;
const loadPhoneLib = lazy(async () => {
  const [lib, metadata] = await Promise.all([import('libphonenumber-js/min'), import('libphonenumber-js/min/metadata')]);
  // The first country listed for a calling code is its main one (+1 → US, +7 → RU, +44 → GB);
  // "001" stands for non-geographic codes (satellite, international networks), which have no country.
  mainCountryOfCallingCode = (code) => {
    const main: string | undefined = metadata.default.country_calling_codes[code]?.[0];
    return main && main !== '001' ? main : undefined;
  };
  phoneLib = lib;
});
const segmentCounter = lazy(() => import('../domain/segments.js'));

/**
 * ISO country of a number (needs the phone metadata: call after any engine check, or
 * after `await loadPhoneMetadata()`). Numbers libphonenumber cannot place — unassigned or
 * fictional ranges such as Twilio's test numbers — belong to their calling code's main
 * country; non-geographic numbers (+881, +882, ...) have none.
 */
export function countryOfNumber(e164: string): string | undefined {
  if (!phoneLib) throw new Error('countryOfNumber called before the phone metadata was loaded');
  const parsed = phoneLib.parsePhoneNumberFromString(e164);
  if (!parsed) return undefined;
  return parsed.country ?? mainCountryOfCallingCode(parsed.countryCallingCode);
}

export const loadPhoneMetadata: () => Promise<void> = loadPhoneLib;

function startOfUtcHour(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), at.getUTCHours()));
}
function startOfUtcDay(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}
const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`;
/** Warn once usage reaches this share of a cap, so an agent can slow down before a refusal. */
const NEAR_CAP = 0.8;
/**
 * Dollars compared as whole micro-dollars: prices are written to at most six decimals, and
 * in binary fractions 0.28 + 0.02 > 0.3 (a send exactly at the cap refused) and
 * 0.06 + 0.02 < 0.1 × 0.8 (no warning at exactly 80%).
 */
const micros = (usd: number) => Math.round(usd * 1_000_000);

function refuse(rule: PolicyRule, message: string, nextStep: string, extra: Record<string, unknown> = {}): never {
  throw new ToolFailure({ message, nextStep, extra: { rule, ...extra } });
}

/** What one check is about: a message or a call, normalised for the rules. */
export interface Subject {
  kind: 'message' | 'call';
  to: string;
  from: string | undefined;
  messagingServiceSid: string | undefined;
  content: string | undefined;
  cost: number;
  transactional: boolean;
  allowDuplicate: boolean;
  firstContactConfirmed: boolean;
}

export class PolicyEngine {
  private readonly ledger: () => Promise<SendLedger>;
  private readonly prices: PriceTable;

  constructor(
    private readonly policy: Policy,
    ledger: SendLedger | (() => Promise<SendLedger>),
    private readonly defaultSender: string | undefined,
    private readonly now: () => Date = () => new Date(),
    private readonly serviceCountries?: ServiceCountries,
    /** Twilio's Pricing API (cached); without it, or when it has no price, the table. */
    private readonly livePrices?: LivePrices,
  ) {
    this.ledger = typeof ledger === 'function' ? ledger : async () => ledger;
    this.prices = new PriceTable(policy.prices);
  }

  /** Check everything, send nothing: the service returns "what would be sent". */
  get dryRun(): boolean {
    return this.policy.dry_run;
  }

  /** allow | confirm | refuse: what a send to a number never contacted needs. */
  get firstContact(): 'allow' | 'confirm' | 'refuse' {
    return this.policy.first_contact;
  }

  /** The most messages the campaign called `name` may send, and where that limit is set; undefined: no campaign cap. */
  campaignCap(name: string): { limit: number; setBy: string } | undefined {
    const own = this.policy.campaign_caps[name];
    if (own !== undefined) return { limit: own, setBy: `campaign_caps["${name}"] in the policy file` };
    const all = this.policy.caps.messages_per_campaign;
    return all === undefined ? undefined : { limit: all, setBy: 'caps.messages_per_campaign (TWILIO_MCP_MAX_MESSAGES_PER_CAMPAIGN)' };
  }

  get firstContactWithoutElicitation(): 'allow' | 'refuse' {
    return this.policy.first_contact_without_elicitation;
  }

  get redactBodies(): boolean {
    return this.policy.audit.redact_bodies;
  }

  /** Destination countries allowed for a send from `sender`; undefined when no sender country is known. */
  allowedCountries(sender: string | undefined): string[] | undefined {
    if (this.policy.allowed_countries) return this.policy.allowed_countries;
    const senderNumber = sender && strip(sender).startsWith('+') ? strip(sender) : this.defaultSender;
    const country = senderNumber ? countryOfNumber(senderNumber) : undefined;
    return country ? [country] : undefined;
  }

  /**
   * The same, for a send that may go through a Messaging Service: with no sender number
   * the service's own numbers say which countries are "ours". Never unrestricted by
   * default: when no country can be learned, the answer is the empty list (refuse
   * every destination until allowed_countries is set).
   */
  private async allowedCountriesFor(subject: Subject): Promise<string[]> {
    if (this.policy.allowed_countries) return this.policy.allowed_countries;
    const senderNumber = subject.from && strip(subject.from).startsWith('+') ? strip(subject.from) : undefined;
    if (senderNumber) return [countryOfNumber(senderNumber)].filter((c): c is string => Boolean(c));
    if (subject.messagingServiceSid && this.serviceCountries) {
      const countries = await this.serviceCountries(subject.messagingServiceSid).catch(() => [] as string[]);
      if (countries.length > 0) return [...new Set(countries)];
    }
    return this.allowedCountries(undefined) ?? [];
  }

  /** USD for the spend cap (needs the phone metadata loaded). */
  estimateCost(message: OutgoingMessage): number {
    if (message.channel === 'whatsapp') return this.prices.whatsappPerMessage;
    if (message.channel === 'mms') return this.prices.mmsPerMessage;
    return this.prices.smsPerSegment(countryOfNumber(strip(message.to))) * (message.segments ?? 1);
  }

  estimateCallCost(call: OutgoingCall): { minutes: number; cost: number } {
    const minutes = Math.max(1, Math.ceil(call.expectedMinutes ?? DEFAULT_CALL_MINUTES_ESTIMATE));
    return { minutes, cost: this.prices.callPerMinute(countryOfNumber(strip(call.to))) * minutes };
  }

  /** Every rule, against the engine's ledger: for callers that do not reserve (dry runs, tests). */
  async checkMessage(message: OutgoingMessage, options: CheckOptions = {}): Promise<MessageDecision> {
    const prepared = await this.prepareMessage(message, options);
    return this.decideMessage(prepared, await (await this.ledger()).readLedger(this.ledgerKeys(prepared)));
  }

  async checkCall(call: OutgoingCall, options: CheckOptions = {}): Promise<CallDecision> {
    const prepared = await this.prepareCall(call, options);
    return this.decideCall(prepared, await (await this.ledger()).readLedger(this.ledgerKeys(prepared)));
  }

  /**
   * What the ledger rules of `prepared` read: its recipient, the duplicate window (none
   * when the window is off or the send has no content) and the calendar windows of the
   * caps, all measured from the moment the send counts at.
   */
  ledgerKeys(prepared: PreparedSend): LedgerKeys {
    const { subject, at } = prepared;
    const windowMinutes = this.policy.duplicate_window_minutes;
    const content = windowMinutes > 0 ? subject.content : undefined;
    return {
      to: subject.to,
      bodyHash: content ? hashBody(content) : null,
      duplicateSince: content ? new Date(at.getTime() - windowMinutes * 60_000) : null,
      hourStart: startOfUtcHour(at),
      dayStart: startOfUtcDay(at),
    };
  }

  /** The rules that need no ledger: deny/allow lists, destination country, quiet hours. */
  async prepareMessage(message: OutgoingMessage, options: CheckOptions = {}): Promise<PreparedSend> {
    await loadPhoneLib();
    const segments = message.channel === 'sms' ? (message.segments ?? (message.body ? (await segmentCounter()).countSegments(message.body).segments : 1)) : 1;
    const { cost, source } = await this.messageCost({ ...message, segments });
    const subject: Subject = {
      kind: 'message',
      to: strip(message.to),
      from: message.from,
      messagingServiceSid: message.messagingServiceSid,
      content: message.body,
      cost,
      transactional: message.transactional ?? false,
      allowDuplicate: message.allowDuplicate ?? false,
      firstContactConfirmed: message.firstContactConfirmed ?? false,
    };
    const at = options.now ?? this.now();
    return { subject, at, segments, priceSource: source, warnings: await this.checkWithoutLedger(subject, options.sendAt ?? at) };
  }

  /** SMS per segment: the operator's price for the country, else Twilio's Pricing API, else the table. */
  private async messageCost(message: OutgoingMessage & { segments: number }): Promise<{ cost: number; source: PriceSource }> {
    if (message.channel !== 'sms') {
      // The flat price of this channel only: a WhatsApp price in the policy says nothing about where an MMS estimate came from.
      const own = message.channel === 'mms' ? this.policy.prices.mms_per_message : this.policy.prices.whatsapp_per_message;
      return { cost: this.estimateCost(message), source: own !== undefined ? 'policy' : 'price_table' };
    }
    const country = countryOfNumber(strip(message.to));
    if (country && this.policy.prices.sms_per_segment?.[country] !== undefined) return { cost: this.estimateCost(message), source: 'policy' };
    const live = country ? await this.livePrices?.smsPerSegment(country) : undefined;
    if (live !== undefined) return { cost: live * message.segments, source: 'pricing_api' };
    return { cost: this.estimateCost(message), source: 'price_table' };
  }

  private async callCost(call: OutgoingCall): Promise<{ minutes: number; cost: number; source: PriceSource }> {
    const estimate = this.estimateCallCost(call);
    const country = countryOfNumber(strip(call.to));
    if (country && this.policy.prices.call_per_minute?.[country] !== undefined) return { ...estimate, source: 'policy' };
    const live = country ? await this.livePrices?.callPerMinute(country) : undefined;
    if (live !== undefined) return { minutes: estimate.minutes, cost: live * estimate.minutes, source: 'pricing_api' };
    return { ...estimate, source: 'price_table' };
  }

  async prepareCall(call: OutgoingCall, options: CheckOptions = {}): Promise<PreparedSend> {
    await loadPhoneLib();
    const { minutes, cost, source } = await this.callCost(call);
    const subject: Subject = {
      kind: 'call',
      to: strip(call.to),
      from: call.from,
      messagingServiceSid: undefined,
      content: call.content,
      cost,
      transactional: call.transactional ?? false,
      allowDuplicate: call.allowDuplicate ?? false,
      firstContactConfirmed: call.firstContactConfirmed ?? false,
    };
    const at = options.now ?? this.now();
    return { subject, at, segments: 1, estimatedMinutes: minutes, priceSource: source, warnings: await this.checkWithoutLedger(subject, at) };
  }

  /**
   * The rules that read the ledger: duplicate, caps, first contact, against the snapshot
   * the store read for `ledgerKeys(prepared)`. Synchronous, so the store runs it inside
   * its write transaction (decide and reserve as one).
   */
  decideMessage(prepared: PreparedSend, ledger: LedgerSnapshot): MessageDecision {
    const warnings = this.checkWithLedger(prepared, ledger);
    return { allowed: true, dryRun: this.policy.dry_run, estimatedCost: prepared.subject.cost, segments: prepared.segments, warnings, ...(prepared.priceSource && { priceSource: prepared.priceSource }) };
  }

  decideCall(prepared: PreparedSend, ledger: LedgerSnapshot): CallDecision {
    const warnings = this.checkWithLedger(prepared, ledger);
    return { allowed: true, dryRun: this.policy.dry_run, estimatedCost: prepared.subject.cost, estimatedMinutes: prepared.estimatedMinutes ?? 1, segments: 1, warnings, ...(prepared.priceSource && { priceSource: prepared.priceSource }) };
  }

  /** Told about a message Twilio accepted (never about a dry run), so caps and duplicates see it. */
  async recordSent(message: OutgoingMessage, sid: string, decision: SendDecision | void, options: CheckOptions = {}): Promise<void> {
    await loadPhoneLib();
    await this.record('message', message.to, message.body, sid, decision?.estimatedCost ?? this.estimateCost(message), options);
  }

  /** Told about a call Twilio accepted. */
  async recordCall(call: OutgoingCall, sid: string, decision: SendDecision | void, options: CheckOptions = {}): Promise<void> {
    await loadPhoneLib();
    await this.record('call', call.to, call.content, sid, decision?.estimatedCost ?? this.estimateCallCost(call).cost, options);
  }

  private async record(kind: 'message' | 'call', to: string, content: string | undefined, sid: string, estimatedCost: number, options: CheckOptions): Promise<void> {
    await (await this.ledger()).recordSend({
      kind,
      to: strip(to),
      bodyHash: content ? hashBody(content) : null,
      sid,
      estimatedCost,
      at: options.now ?? this.now(),
    });
  }

  /** The first rules in order (the first refusal throws); quiet hours judge `sendAt`. */
  private async checkWithoutLedger(subject: Subject, sendAt: Date): Promise<string[]> {
    const warnings: string[] = [];
    this.checkNumberLists(subject.to);
    await this.checkCountry(subject, warnings);
    await this.checkQuietHours(subject, sendAt, warnings);
    return warnings;
  }

  /** The remaining rules, in order, against the ledger; returns every warning of an allowed send. */
  private checkWithLedger(prepared: PreparedSend, ledger: LedgerSnapshot): string[] {
    const warnings = [...prepared.warnings];
    this.checkDuplicate(ledger, prepared.subject, warnings);
    this.checkCaps(ledger, prepared.subject, prepared.at, warnings);
    this.checkFirstContact(ledger, prepared.subject);
    if (this.policy.dry_run) warnings.push('Dry run (TWILIO_MCP_DRY_RUN): everything was checked; nothing will be sent.');
    return warnings;
  }

  private checkNumberLists(to: string): void {
    // Deny first: a number on both lists is denied.
    const denied = this.policy.deny_numbers.find((p) => to.startsWith(p));
    if (denied) {
      refuse(
        'deny_numbers',
        `Policy refuses ${to}: it matches the deny list entry ${denied}.`,
        'Do not contact this number. An operator can change deny_numbers / TWILIO_MCP_DENY_NUMBERS if this is wrong.',
        { matched: denied },
      );
    }
    if (this.policy.allow_numbers.length > 0 && !this.policy.allow_numbers.some((p) => to.startsWith(p))) {
      refuse(
        'allow_numbers',
        `Policy refuses ${to}: only numbers on the allow list may be contacted (${this.policy.allow_numbers.join(', ')}).`,
        'Ask an operator to add it to allow_numbers / TWILIO_MCP_ALLOW_NUMBERS if this contact is intended.',
      );
    }
  }

  private async checkCountry(subject: Subject, warnings: string[]): Promise<void> {
    const allowed = await this.allowedCountriesFor(subject);
    if (allowed.includes('*')) {
      warnings.push('Every destination country is allowed (allowed_countries ["*"]): SMS-pumping fraud to premium destinations is not blocked.');
      return;
    }
    const country = countryOfNumber(subject.to);
    if (country && allowed.includes(country)) return;
    const names = await loadCountryNames();
    const callingCode = phoneLib?.parsePhoneNumberFromString(subject.to)?.countryCallingCode;
    const shared = country ? names.callingCodeNote(country) : undefined;
    const what = country
      ? `destination country ${names.describeCountry(country)} is not allowed`
      : `the destination has no country (${callingCode ? names.describeCallingCode(callingCode) : 'an unrecognised number'})`;
    if (allowed.length === 0) {
      refuse(
        'allowed_countries',
        `Policy refuses ${subject.to}: the sender's country is unknown (no sender number${subject.messagingServiceSid ? `, and the numbers of ${subject.messagingServiceSid} could not be read` : ''}), so no destination is allowed by default.`,
        'An operator sets allowed_countries / TWILIO_MCP_ALLOWED_COUNTRIES (e.g. "US,CA"), or passes "from" with one of your numbers; the default allows only the sender\'s country because SMS-pumping fraud targets foreign premium destinations.',
        { destination_country: country ?? null, allowed_countries: [] },
      );
    }
    refuse(
      'allowed_countries',
      `Policy refuses ${subject.to}: ${what} (allowed: ${allowed.map((c) => names.describeCountry(c)).join(', ')}).${shared ? ` Note: ${shared}, so check the number is the territory you mean.` : ''}`,
      `If this destination is intended, an operator adds ${country ?? 'it'} to allowed_countries / TWILIO_MCP_ALLOWED_COUNTRIES. ` +
        // Two whole sentences: with an operator's list there is no default to explain, only why lists stay short.
        (this.policy.allowed_countries
          ? 'Keep the list to the countries you serve: SMS-pumping fraud targets such destinations.'
          : "The default allows only the sender's country because SMS-pumping fraud targets such destinations."),
      { destination_country: country ?? null, allowed_countries: allowed },
    );
  }

  /** Judged at the moment the message will go out; a number spanning zones is quiet if any of them is. */
  private async checkQuietHours(subject: Subject, at: Date, warnings: string[]): Promise<void> {
    const quiet = this.policy.quiet_hours;
    if (quiet === 'off') return;
    const verdict = await quietHoursVerdict(subject.to, at, quiet);
    if (verdict.zones.length === 0) {
      const country = countryOfNumber(subject.to);
      warnings.push(`Quiet hours not applied: no time zone is known for ${country ?? 'this number'}.`);
      return;
    }
    if (!verdict.quiet) return;
    const window = `${quiet.start}–${quiet.end}`;
    const zone = verdict.zone;
    const where = verdict.zones.length > 1 ? `${zone}, one of ${verdict.zones.length} zones this number may be in` : zone;
    if (subject.transactional) {
      warnings.push(`Sent during quiet hours (${verdict.localTime} for the recipient, ${where}; quiet hours are ${window}) because transactional: true.`);
      return;
    }
    const noun = subject.kind === 'call' ? 'calls' : 'messages';
    const resumes = verdict.resumesAt;
    refuse(
      'quiet_hours',
      `Quiet hours: it is ${verdict.localTime} for the recipient (${where}); quiet hours are ${window} recipient local time, and no ${noun} go out then.`,
      (resumes
        ? `Retry after ${quiet.end} local time (${resumes.toISOString()}), `
        : `Quiet hours never end in every zone at once for this number (${verdict.zones.join(', ')}): narrow quiet_hours, `) +
        `or pass transactional: true for a time-critical ${subject.kind} such as a verification code.`,
      { resumes_at: resumes?.toISOString() ?? null, recipient_time_zone: zone, recipient_time_zones: verdict.zones, recipient_local_time: verdict.localTime },
    );
  }

  /** `ledger.earlier` is the latest identical send within the window (ledgerKeys names it). */
  private checkDuplicate(ledger: LedgerSnapshot, subject: Subject, warnings: string[]): void {
    const windowMinutes = this.policy.duplicate_window_minutes;
    if (windowMinutes <= 0 || !subject.content) return;
    const earlier = ledger.earlier;
    if (!earlier) return;
    const same = subject.kind === 'call' ? 'the same call' : 'the same text';
    const when = earlier.at.toISOString();
    // What the earlier attempt is: settled with a SID, still in flight, or lost on the way.
    const earlierAttempt =
      earlier.state === 'outcome_unknown'
        ? `an attempt to send ${same} to ${subject.to} at ${when} has an unknown outcome (attempt #${earlier.reservationId}: Twilio's answer was lost, so it may have been delivered)`
        : earlier.state === 'in_flight'
          ? `${same} to ${subject.to} is being sent right now (attempt #${earlier.reservationId}, started ${when})`
          : `${same} went to ${subject.to} at ${when} (${earlier.sid})`;
    const extra = { earlier_sid: earlier.sid, earlier_at: when, earlier_state: earlier.state, earlier_attempt: earlier.reservationId };
    if (subject.allowDuplicate) {
      warnings.push(`Possible duplicate: ${earlierAttempt}; sending again because allow_duplicate: true.`);
      return;
    }
    const call = subject.kind === 'call';
    const check =
      earlier.state === 'sent'
        ? `Check ${call ? 'get_call' : 'get_message'} for that SID instead of ${call ? 'calling' : 'sending'} again.`
        : `Check ${call ? 'list_calls' : 'list_messages'} for ${subject.to} after ${when} (or get_audit_log) before ${call ? 'calling' : 'sending'} again.`;
    refuse(
      'duplicate',
      `${earlier.state === 'sent' ? 'Duplicate' : 'Possible duplicate'}: ${earlierAttempt}, within the ${windowMinutes}-minute window.`,
      `${check} If a second copy is really wanted, pass allow_duplicate: true.`,
      extra,
    );
  }

  /** `ledger.totals` counts the calendar hour and day of `at` (ledgerKeys names them). */
  private checkCaps(ledger: LedgerSnapshot, subject: Subject, at: Date, warnings: string[]): void {
    const caps = this.policy.caps;
    const hour = startOfUtcHour(at);
    const day = startOfUtcDay(at);
    const nextHour = new Date(hour.getTime() + 3_600_000).toISOString();
    const nextDay = new Date(day.getTime() + 86_400_000).toISOString();
    const totals = ledger.totals;
    const countCaps =
      subject.kind === 'message'
        ? [
            { cap: 'messages_per_hour', label: 'Hourly message cap', used: totals.messagesThisHour, limit: caps.messages_per_hour, resets: nextHour, when: 'top of the UTC hour', variable: 'TWILIO_MCP_MAX_MESSAGES_PER_HOUR' },
            { cap: 'messages_per_day', label: 'Daily message cap', used: totals.messagesToday, limit: caps.messages_per_day, resets: nextDay, when: 'UTC midnight', variable: 'TWILIO_MCP_MAX_MESSAGES_PER_DAY' },
          ]
        : [{ cap: 'calls_per_day', label: 'Daily call cap', used: totals.callsToday, limit: caps.calls_per_day, resets: nextDay, when: 'UTC midnight', variable: 'TWILIO_MCP_MAX_CALLS_PER_DAY' }];
    for (const c of countCaps) {
      if (c.used >= c.limit) {
        refuse('caps', `${c.label} reached (${c.used}/${c.limit}).`, `It resets at ${c.resets} (${c.when}); an operator can raise ${c.variable}.`, {
          cap: c.cap,
          used: c.used,
          limit: c.limit,
          resets_at: c.resets,
        });
      }
      if (c.used + 1 >= c.limit * NEAR_CAP) warnings.push(`${c.label}: this is ${c.used + 1} of ${c.limit} (resets at ${c.resets}).`);
    }
    const spent = totals.spendToday;
    const limit = caps.spend_per_day_usd;
    const spentAfter = micros(spent) + micros(subject.cost);
    if (spentAfter > micros(limit)) {
      refuse(
        'caps',
        `Daily spend cap: ${usd(spent)} estimated spend today + ${usd(subject.cost)} for this ${subject.kind} would exceed ${usd(limit)}.`,
        `It resets at ${nextDay} (UTC midnight); an operator can raise TWILIO_MCP_MAX_SPEND_PER_DAY_USD (estimates use the policy's price table).`,
        { cap: 'spend_per_day_usd', spent_usd: spent, this_send_usd: subject.cost, limit_usd: limit, resets_at: nextDay },
      );
    }
    if (limit > 0 && spentAfter >= micros(limit * NEAR_CAP)) warnings.push(`Daily spend cap: ${usd(spent + subject.cost)} of ${usd(limit)} estimated after this ${subject.kind} (resets at ${nextDay}).`);
  }

  private checkFirstContact(ledger: LedgerSnapshot, subject: Subject): void {
    if (this.policy.first_contact === 'allow' || subject.firstContactConfirmed || ledger.contacted) return;
    const what = subject.kind === 'call' ? 'call ever placed' : 'message ever sent';
    if (this.policy.first_contact === 'refuse') {
      refuse(
        'first_contact',
        `Policy refuses a first contact: this server has never messaged or called ${subject.to}.`,
        'Only numbers contacted before may be contacted; an operator can set first_contact / TWILIO_MCP_FIRST_CONTACT to "allow" or "confirm".',
      );
    }
    throw new NeedsConfirmation(`This would be the first ${what} to ${subject.to}. ${subject.kind === 'call' ? 'Place it' : 'Send it'}?`);
  }

  /** The effective policy, in one screen (get_policy, twilio://policy, get_server_status). */
  async describe(options: DescribeOptions = {}): Promise<Record<string, unknown>> {
    const calls = options.calls ?? false;
    await loadPhoneLib();
    const p = this.policy;
    const senderCountries = this.allowedCountries(undefined);
    const at = options.now ?? this.now();
    const hour = startOfUtcHour(at);
    const day = startOfUtcDay(at);
    let usage: Record<string, unknown> | undefined;
    try {
      const totals = await (await this.ledger()).sendTotals(hour, day);
      usage = {
        messages_this_hour: totals.messagesThisHour,
        messages_today: totals.messagesToday,
        ...(calls && { calls_today: totals.callsToday }),
        estimated_spend_today_usd: Math.round(totals.spendToday * 10_000) / 10_000,
      };
    } catch {
      // The policy is still worth showing when the ledger cannot be read.
    }
    return {
      dry_run: p.dry_run,
      rule_order: 'opt-outs → deny/allow numbers → destination country → quiet hours (judged at send_at when scheduled) → duplicate → caps → first contact; the last three are decided and the send reserved in one transaction',
      destination_countries:
        p.allowed_countries?.includes('*')
          ? 'all (allowed_countries ["*"]) — SMS-pumping fraud is not blocked'
          : (p.allowed_countries ??
            (senderCountries
              ? `sender's country only (${senderCountries.join(', ')}); through a Messaging Service, its numbers' countries`
              : "the sending number's country, or a Messaging Service's numbers' countries; none when neither is known: set TWILIO_MCP_ALLOWED_COUNTRIES")),
      allow_numbers: p.allow_numbers,
      deny_numbers: p.deny_numbers,
      caps: {
        messages_per_hour: p.caps.messages_per_hour,
        messages_per_day: p.caps.messages_per_day,
        ...(calls && { calls_per_day: p.caps.calls_per_day }),
        spend_per_day_usd: p.caps.spend_per_day_usd,
        windows: 'calendar windows in UTC: the hourly cap resets at the top of each UTC hour, daily caps at 00:00 UTC',
        resets_at: { hour: new Date(hour.getTime() + 3_600_000).toISOString(), day: new Date(day.getTime() + 86_400_000).toISOString() },
        ...(usage && { used: usage }),
      },
      quiet_hours:
        p.quiet_hours === 'off'
          ? 'off'
          : `${p.quiet_hours.start}–${p.quiet_hours.end} recipient local time (zone from the number's country, or US/CA area code); transactional: true overrides`,
      duplicate_window_minutes: p.duplicate_window_minutes,
      first_contact: p.first_contact,
      first_contact_without_elicitation: p.first_contact_without_elicitation,
      prices: { ...this.prices.summary(calls), ...(this.livePrices && { live: "Twilio's Pricing API for this account, cached a day; the table above only when it has no price; your own prices in the policy win over both" }) },
      opt_out_scope:
        p.opt_out_scope === 'account'
          ? 'account: a STOP to any of your numbers or services blocks every sender until the person opts back in'
          : 'sender: a STOP blocks only the sender it was sent to (and its service)',
      ...(calls && {
        do_not_call: p.calls_honor_sms_opt_outs
          ? 'opt-outs with channel voice or all, and every SMS opt-out (calls_honor_sms_opt_outs)'
          : 'opt-outs with channel voice or all; an SMS STOP does not block calls (calls_honor_sms_opt_outs: false)',
      }),
      audit_redacts_bodies: p.audit.redact_bodies,
    };
  }
}
