/**
 * The send policy, applied to every outgoing message before Twilio is called. Rule order:
 * deny/allow numbers → destination country → quiet hours → duplicate → caps → first
 * contact. Each refusal names its rule, why, and what to do. Counts for caps and the
 * duplicate check come from the ledger (the store), so they survive restarts.
 *
 * Caps use calendar windows in UTC (this hour, this day): easy to state when they reset.
 */
import { createHash } from 'node:crypto';
import { ToolFailure } from '../errors/tool-failure.js';
import { lazy } from '../util/lazy.js';
import type { Store } from '../store/store.js';
import type { Policy } from './policy-schema.js';
import { DEFAULT_MMS_PRICE, DEFAULT_SMS_PRICE, DEFAULT_SMS_PRICE_PER_SEGMENT, DEFAULT_WHATSAPP_PRICE } from './price-table.js';
import type { OutgoingMessage, SendDecision, SendGuard } from './send-guard.js';
import { localMinutes, timeZoneFor } from './time-zones.js';

export type SendLedger = Pick<Store, 'recordSend' | 'sendTotals' | 'findRecentSend' | 'hasContacted'>;

/** The policy wants the user to confirm a first contact; the tool layer asks (elicitation). */
export class NeedsConfirmation extends ToolFailure {
  constructor(readonly question: string) {
    super({ message: question, nextStep: 'Ask the user to confirm this first contact.' });
    this.name = 'NeedsConfirmation';
  }
}

const strip = (n: string) => n.replace(/^whatsapp:/, '');
const hashBody = (body: string) => createHash('sha256').update(body).digest('hex');

// libphonenumber's metadata loads on the first check, not at start-up.
type PhoneLib = typeof import('libphonenumber-js/min');
let phoneLib: PhoneLib | undefined;
const loadPhoneLib = lazy(async () => (phoneLib = await import('libphonenumber-js/min')));

/** ISO country of a number (needs loadPhoneLib() to have run). */
export function countryOfNumber(e164: string): string | undefined {
  if (!phoneLib) throw new Error('countryOfNumber called before the phone metadata was loaded');
  const { getCountries, getCountryCallingCode, parsePhoneNumberFromString } = phoneLib;
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return undefined;
  if (parsed.country) return parsed.country;
  // Numbers in unassigned or fictional ranges still belong to their calling code's main country.
  return getCountries().find((c) => getCountryCallingCode(c) === parsed.countryCallingCode);
}

function startOfUtcHour(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), at.getUTCHours()));
}
function startOfUtcDay(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}
const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export class PolicyEngine implements SendGuard {
  constructor(
    private readonly policy: Policy,
    private readonly ledger: () => Promise<SendLedger>,
    private readonly defaultSender: string | undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get dryRun(): boolean {
    return this.policy.dry_run;
  }

  get firstContactWithoutElicitation(): 'allow' | 'refuse' {
    return this.policy.first_contact_without_elicitation;
  }

  get redactBodies(): boolean {
    return this.policy.audit.redact_bodies;
  }

  allowedCountries(sender: string | undefined): string[] | undefined {
    if (this.policy.allowed_countries) return this.policy.allowed_countries;
    const senderNumber = sender && sender.startsWith('+') ? sender : this.defaultSender;
    const country = senderNumber ? countryOfNumber(strip(senderNumber)) : undefined;
    return country ? [country] : undefined;
  }

  estimateCost(message: OutgoingMessage): number {
    if (message.channel === 'whatsapp') return DEFAULT_WHATSAPP_PRICE;
    if (message.channel === 'mms') return DEFAULT_MMS_PRICE;
    const country = countryOfNumber(strip(message.to));
    const table: Record<string, number> = { ...DEFAULT_SMS_PRICE_PER_SEGMENT, ...this.policy.prices.sms_per_segment };
    const perSegment: number = (country ? table[country] : undefined) ?? this.policy.prices.default_sms_per_segment ?? DEFAULT_SMS_PRICE;
    return perSegment * (message.segments ?? 1);
  }

  async checkMessage(message: OutgoingMessage): Promise<SendDecision> {
    await loadPhoneLib();
    const at = this.now();
    const to = strip(message.to);
    this.checkNumberLists(to);
    this.checkCountry(to, message.from ? strip(message.from) : undefined);
    if (!message.transactional) this.checkQuietHours(to, at);
    const ledger = await this.ledger();
    if (!message.allowDuplicate && message.body) this.checkDuplicate(ledger, to, message.body, at);
    const estimatedCost = this.estimateCost(message);
    this.checkCaps(ledger, estimatedCost, at);
    if (!message.firstContactConfirmed) this.checkFirstContact(ledger, to);
    return { dryRun: this.policy.dry_run, estimatedCost };
  }

  async recordSent(message: OutgoingMessage, sid: string, decision: SendDecision | void): Promise<void> {
    await loadPhoneLib();
    (await this.ledger()).recordSend({
      kind: 'message',
      to: strip(message.to),
      bodyHash: message.body ? hashBody(message.body) : null,
      sid,
      estimatedCost: decision?.estimatedCost ?? this.estimateCost(message),
      at: this.now(),
    });
  }

  private checkNumberLists(to: string): void {
    const denied = this.policy.deny_numbers.find((p) => to.startsWith(p));
    if (denied) {
      throw new ToolFailure({
        message: `Policy refuses ${to}: it matches the deny list entry ${denied}.`,
        nextStep: 'Do not contact this number. An operator can change deny_numbers / TWILIO_MCP_DENY_NUMBERS if this is wrong.',
      });
    }
    if (this.policy.allow_numbers.length > 0 && !this.policy.allow_numbers.some((p) => to.startsWith(p))) {
      throw new ToolFailure({
        message: `Policy refuses ${to}: only numbers on the allow list may be contacted (${this.policy.allow_numbers.join(', ')}).`,
        nextStep: 'Ask an operator to add it to allow_numbers / TWILIO_MCP_ALLOW_NUMBERS if this contact is intended.',
      });
    }
  }

  private checkCountry(to: string, from: string | undefined): void {
    const allowed = this.allowedCountries(from);
    if (!allowed || allowed.includes('*')) return;
    const country = countryOfNumber(to) ?? 'unknown';
    if (!allowed.includes(country)) {
      throw new ToolFailure({
        message: `Policy refuses ${to}: destination country ${country} is not allowed (allowed: ${allowed.join(', ')}).`,
        nextStep:
          'If this destination is intended, an operator adds it to allowed_countries / TWILIO_MCP_ALLOWED_COUNTRIES. The default allows only the sender\'s country because SMS-pumping fraud targets foreign premium ranges.',
      });
    }
  }

  private checkQuietHours(to: string, at: Date): void {
    const quiet = this.policy.quiet_hours;
    if (quiet === 'off') return;
    const zone = timeZoneFor(countryOfNumber(to), to);
    if (!zone) return;
    const local = localMinutes(at, zone);
    const start = toMinutes(quiet.start);
    const end = toMinutes(quiet.end);
    const inQuiet = start <= end ? local >= start && local < end : local >= start || local < end;
    if (!inQuiet) return;
    const minutesLeft = (end - local + 24 * 60) % (24 * 60);
    const resumes = new Date(at.getTime() + minutesLeft * 60_000);
    resumes.setUTCSeconds(0, 0);
    const hhmm = `${String(Math.floor(local / 60)).padStart(2, '0')}:${String(local % 60).padStart(2, '0')}`;
    throw new ToolFailure({
      message: `Quiet hours: it is ${hhmm} for the recipient (${zone}); messages are held between ${quiet.start} and ${quiet.end} local time.`,
      nextStep: `Send after ${quiet.end} local time (${resumes.toISOString()}), or pass transactional: true for a time-critical message such as a verification code.`,
      extra: { resumes_at: resumes.toISOString() },
    });
  }

  private checkDuplicate(ledger: SendLedger, to: string, body: string, at: Date): void {
    const windowMinutes = this.policy.duplicate_window_minutes;
    if (windowMinutes <= 0) return;
    const earlier = ledger.findRecentSend(to, hashBody(body), new Date(at.getTime() - windowMinutes * 60_000));
    if (earlier) {
      throw new ToolFailure({
        message: `Duplicate: the same text went to ${to} at ${earlier.at.toISOString()} (${earlier.sid}), within the ${windowMinutes}-minute window.`,
        nextStep: 'Check get_message for that SID instead of resending. If a second copy is really wanted, pass allow_duplicate: true.',
        extra: { earlier_sid: earlier.sid },
      });
    }
  }

  private checkCaps(ledger: SendLedger, cost: number, at: Date): void {
    const caps = this.policy.caps;
    const hour = startOfUtcHour(at);
    const day = startOfUtcDay(at);
    const nextHour = new Date(hour.getTime() + 3_600_000).toISOString();
    const nextDay = new Date(day.getTime() + 86_400_000).toISOString();
    const totals = ledger.sendTotals(hour, day);
    const perHour = totals.messagesThisHour;
    if (perHour >= caps.messages_per_hour) {
      throw new ToolFailure({
        message: `Hourly message cap reached (${perHour}/${caps.messages_per_hour}).`,
        nextStep: `It resets at ${nextHour} (top of the UTC hour); an operator can raise TWILIO_MCP_MAX_MESSAGES_PER_HOUR.`,
        extra: { cap: 'messages_per_hour', resets_at: nextHour },
      });
    }
    const perDay = totals.messagesToday;
    if (perDay >= caps.messages_per_day) {
      throw new ToolFailure({
        message: `Daily message cap reached (${perDay}/${caps.messages_per_day}).`,
        nextStep: `It resets at ${nextDay} (UTC midnight); an operator can raise TWILIO_MCP_MAX_MESSAGES_PER_DAY.`,
        extra: { cap: 'messages_per_day', resets_at: nextDay },
      });
    }
    const spent = totals.spendToday;
    if (spent + cost > caps.spend_per_day_usd) {
      throw new ToolFailure({
        message: `Daily spend cap: $${spent.toFixed(4)} spent today + $${cost.toFixed(4)} for this message would exceed $${caps.spend_per_day_usd}.`,
        nextStep: `It resets at ${nextDay} (UTC midnight); an operator can raise TWILIO_MCP_MAX_SPEND_PER_DAY_USD.`,
        extra: { cap: 'spend_per_day_usd', resets_at: nextDay },
      });
    }
  }

  private checkFirstContact(ledger: SendLedger, to: string): void {
    if (this.policy.first_contact === 'allow' || ledger.hasContacted(to)) return;
    if (this.policy.first_contact === 'refuse') {
      throw new ToolFailure({
        message: `Policy refuses a first contact: this server has never messaged ${to}.`,
        nextStep: 'Only numbers contacted before may be messaged; an operator can set first_contact to "allow" or "confirm".',
      });
    }
    throw new NeedsConfirmation(`This would be the first message ever sent to ${to}. Send it?`);
  }

  /** The effective policy, in one screen. */
  async describe(): Promise<Record<string, unknown>> {
    await loadPhoneLib();
    const p = this.policy;
    return {
      dry_run: p.dry_run,
      destination_countries: p.allowed_countries ?? (this.allowedCountries(undefined) ? `sender's country only (${this.allowedCountries(undefined)!.join(', ')})` : 'not restricted: no default sender to infer a country from; set TWILIO_MCP_ALLOWED_COUNTRIES'),
      allow_numbers: p.allow_numbers,
      deny_numbers: p.deny_numbers,
      caps: { ...p.caps, windows: 'calendar hour and day, UTC' },
      quiet_hours: p.quiet_hours === 'off' ? 'off' : `${p.quiet_hours.start}–${p.quiet_hours.end} recipient local time (transactional: true overrides)`,
      duplicate_window_minutes: p.duplicate_window_minutes,
      first_contact: p.first_contact,
      first_contact_without_elicitation: p.first_contact_without_elicitation,
      audit_redacts_bodies: p.audit.redact_bodies,
    };
  }
}
