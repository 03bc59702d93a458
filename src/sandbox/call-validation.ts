/**
 * CreateCall validation, in the order Twilio applies it, each refusal with Twilio's code
 * (HTTP 400). Codes, from Twilio's error pages:
 *   21201 To missing · 21213 From missing · 21205 none of Url, Twiml, ApplicationSid
 *   ("Url parameter is required."), or a Url that is not an absolute http(s) URL ·
 *   21209 Method (or StatusCallbackMethod) not GET/POST · 32018 Twiml over 4000 characters ·
 *   21218 ApplicationSid (the sandbox has no Applications, so every one is unknown) ·
 *   21208 Timeout not a positive integer (over 600 is cut to 600, Twilio's maximum) ·
 *   20001 MachineDetection not Enable/DetectMessageEnd, or a StatusCallbackEvent not
 *   initiated/ringing/answered/completed · 21609 StatusCallback or RecordingStatusCallback
 *   not an http(s) URL or refused by the callback policy (callback-policy.ts; as for
 *   Messages) · the Url refused by the callback policy: 21205 (the sandbox must not fetch
 *   what the policy forbids) · 21211 To neither E.164 nor `client:`/`sip:` · magic numbers
 *   (magic-numbers.ts: From 21212; To 21217, 21214, 21215, 21216) · 21212 From not E.164 ·
 *   21210 From not one of the account's numbers.
 */
import type { Account } from './account.js';
import { callbackRefusal, type CallbackPolicy } from './callback-policy.js';
import { applyCallMagicNumbers } from './magic-numbers.js';
import { first, type Params, TwilioError } from './wire.js';

export type CallEvent = 'initiated' | 'ringing' | 'answered' | 'completed';
export type MachineDetection = 'Enable' | 'DetectMessageEnd';

/** Where a call's instructions come from: a URL to fetch, or a document given inline. */
export type TwimlSource = { url: string; method: 'GET' | 'POST' } | { twiml: string };

export interface CreateCallRequest {
  to: string;
  from: string;
  source: TwimlSource;
  timeoutSeconds: number;
  record: boolean;
  machineDetection: MachineDetection | null;
  statusCallback: string | null;
  statusCallbackMethod: 'GET' | 'POST';
  statusCallbackEvents: Set<CallEvent>;
  recordingStatusCallback: string | null;
  timeLimitSeconds: number;
}

export const MAX_TWIML_CHARS = 4000;
export const DEFAULT_TIMEOUT_SECONDS = 60;
export const MAX_TIMEOUT_SECONDS = 600;
/** Twilio's longest call (TimeLimit's default and maximum): four hours. */
export const MAX_CALL_SECONDS = 14_400;

const E164 = /^\+[1-9]\d{1,14}$/;
const HTTP_URL = /^https?:\/\/[^\s/?#]+\S*$/i;
const EVENTS = new Set<CallEvent>(['initiated', 'ringing', 'answered', 'completed']);

const bad = (code: number, message: string) => new TwilioError(400, code, message);

function httpMethod(value: string | undefined, name: string): 'GET' | 'POST' {
  if (value === undefined || value === '') return 'POST';
  const upper = value.toUpperCase();
  if (upper !== 'GET' && upper !== 'POST') throw bad(21209, `${name} must be either GET or POST, got ${value}.`);
  return upper;
}

/** The Url a call fetches: absolute http(s), and allowed by the callback policy. */
export function checkTwimlUrl(url: string, policy: CallbackPolicy | undefined): void {
  if (!HTTP_URL.test(url)) throw bad(21205, `Url is not a valid URL: ${url}`);
  const why = callbackRefusal(url, policy);
  if (why) throw bad(21205, `Url ${url} is not allowed: ${why}.`);
}

export function checkCallback(name: string, url: string, policy: CallbackPolicy | undefined): void {
  const why = HTTP_URL.test(url) ? callbackRefusal(url, policy) : 'it is not an http(s) URL';
  if (why) throw bad(21609, `Invalid ${name} url ${url}: ${why}.`);
}

/** Inline TwiML (create or update): at most 4000 characters. */
export function checkTwiml(twiml: string): void {
  if ([...twiml].length > MAX_TWIML_CHARS) throw bad(32018, `Twiml size exceeded maximum allowed value of ${MAX_TWIML_CHARS} characters.`);
}

const isCallee = (to: string) => E164.test(to) || /^client:[A-Za-z0-9_.\-]+$/.test(to) || /^sip:\S+@\S+$/.test(to);

export function validateCreateCall(params: Params, account: Account, callbackPolicy?: CallbackPolicy): CreateCallRequest {
  const to = first(params, 'To')?.trim() ?? '';
  const from = first(params, 'From')?.trim() ?? '';
  const url = first(params, 'Url')?.trim() || undefined;
  const twiml = first(params, 'Twiml') || undefined;
  const applicationSid = first(params, 'ApplicationSid')?.trim() || undefined;

  if (!to) throw bad(21201, "No 'To' number is specified.");
  if (!from) throw bad(21213, "No 'From' number is specified.");
  if (!url && !twiml && !applicationSid) throw bad(21205, 'Url parameter is required.');
  const method = httpMethod(first(params, 'Method'), 'Method');
  // Twilio prefers Twiml over Url when both are given (the Url is then not fetched).
  let source: TwimlSource;
  if (twiml) {
    checkTwiml(twiml);
    source = { twiml };
  } else if (url) {
    if (!HTTP_URL.test(url)) throw bad(21205, `Url is not a valid URL: ${url}`);
    source = { url, method };
  } else {
    throw bad(21218, `ApplicationSid ${applicationSid} is invalid: the sandbox has no Applications; use Url or Twiml.`);
  }

  const timeoutText = first(params, 'Timeout')?.trim();
  let timeoutSeconds = DEFAULT_TIMEOUT_SECONDS;
  if (timeoutText !== undefined && timeoutText !== '') {
    const value = Number(timeoutText);
    if (!/^\d+$/.test(timeoutText) || value < 1) throw bad(21208, `Timeout must be a positive integer, got ${timeoutText}.`);
    timeoutSeconds = Math.min(value, MAX_TIMEOUT_SECONDS);
  }
  const timeLimitText = first(params, 'TimeLimit')?.trim();
  let timeLimitSeconds = MAX_CALL_SECONDS;
  if (timeLimitText) {
    if (!/^\d+$/.test(timeLimitText) || Number(timeLimitText) < 1) throw bad(20001, `TimeLimit must be a positive integer, got ${timeLimitText}.`);
    timeLimitSeconds = Math.min(Number(timeLimitText), MAX_CALL_SECONDS);
  }

  const detection = first(params, 'MachineDetection')?.trim() || null;
  if (detection !== null && detection !== 'Enable' && detection !== 'DetectMessageEnd') {
    throw bad(20001, `MachineDetection must be Enable or DetectMessageEnd, got ${detection}.`);
  }

  const statusCallback = first(params, 'StatusCallback')?.trim() || null;
  const statusCallbackMethod = httpMethod(first(params, 'StatusCallbackMethod'), 'StatusCallbackMethod');
  const events = new Set<CallEvent>();
  for (const raw of params.get('StatusCallbackEvent') ?? []) {
    // The SDK repeats the key; some clients send one space-separated value, which Twilio accepts too.
    for (const event of raw.trim().split(/[\s,]+/).filter(Boolean)) {
      if (!EVENTS.has(event as CallEvent)) throw bad(20001, `StatusCallbackEvent must be initiated, ringing, answered or completed, got ${event}.`);
      events.add(event as CallEvent);
    }
  }
  if (events.size === 0) events.add('completed');
  if (statusCallback) checkCallback('StatusCallback', statusCallback, callbackPolicy);
  const recordingStatusCallback = first(params, 'RecordingStatusCallback')?.trim() || null;
  if (recordingStatusCallback) checkCallback('RecordingStatusCallback', recordingStatusCallback, callbackPolicy);
  if ('url' in source) {
    const why = callbackRefusal(source.url, callbackPolicy);
    if (why) throw bad(21205, `Url ${source.url} is not allowed: ${why}.`);
  }

  if (!isCallee(to)) throw bad(21211, `The 'To' number ${to} is not a valid phone number.`);
  applyCallMagicNumbers(from, to);
  if (!E164.test(from)) throw bad(21212, `The 'From' phone number provided (${from}) is not a valid phone number.`);
  if (!account.numbers.some((n) => n.phoneNumber === from)) {
    throw bad(
      21210,
      `The source phone number provided, ${from}, is not yet verified for your account. You may only make calls from phone numbers that you've verified or purchased from Twilio.`,
    );
  }

  return {
    to,
    from,
    source,
    timeoutSeconds,
    record: first(params, 'Record')?.trim().toLowerCase() === 'true',
    machineDetection: detection as MachineDetection | null,
    statusCallback,
    statusCallbackMethod,
    statusCallbackEvents: events,
    recordingStatusCallback,
    timeLimitSeconds,
  };
}
