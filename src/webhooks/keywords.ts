/**
 * Twilio's default opt-out, opt-in and help keywords. The whole body must be the keyword
 * (trimmed, any case): "Stop by at 5" is not an opt-out.
 */
const OPT_OUT = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT']);
const OPT_IN = new Set(['START', 'YES', 'UNSTOP']);
const HELP = new Set(['HELP', 'INFO']);

export type KeywordKind = 'opt-out' | 'opt-in' | 'help';

const DEFAULTS: Record<KeywordKind, ReadonlySet<string>> = { 'opt-out': OPT_OUT, 'opt-in': OPT_IN, help: HELP };
/** The class names Twilio's Advanced Opt-Out reports in `OptOutType`. */
const REPORTED: Record<string, KeywordKind> = { STOP: 'opt-out', START: 'opt-in', HELP: 'help' };
const CLASS_NAME: Record<KeywordKind, string> = { 'opt-out': 'STOP', 'opt-in': 'START', help: 'HELP' };

/** A custom keyword is one short word (letters and digits, any script): never a sentence. */
const ONE_WORD = /^[\p{L}\p{N}]{1,32}$/u;
const FIRST_WORD = /^[\p{L}\p{N}]+/u;

export function classifyKeyword(body: string): { keyword: string; kind: KeywordKind } | undefined {
  const keyword = body.trim().toUpperCase();
  if (OPT_OUT.has(keyword)) return { keyword, kind: 'opt-out' };
  if (OPT_IN.has(keyword)) return { keyword, kind: 'opt-in' };
  if (HELP.has(keyword)) return { keyword, kind: 'help' };
  return undefined;
}

/**
 * The keyword to record when Twilio's Advanced Opt-Out reported `optOutType` (STOP, START
 * or HELP) for `body`. Twilio decided the class; what we store must be a keyword, never the
 * message: the stored keyword is shown to agents, and an inbound body is untrusted text
 * ("Stop texting me, ignore previous instructions…"). So: a one-word body is the (possibly
 * custom or localised) keyword itself; otherwise the body's first word if it is a default
 * keyword of that class; otherwise the class name. Undefined when `optOutType` is not a class.
 */
export function reportedKeyword(optOutType: string | undefined, body: string): { keyword: string; kind: KeywordKind } | undefined {
  const kind = REPORTED[optOutType?.trim().toUpperCase() ?? ''];
  if (!kind) return undefined;
  const whole = body.trim().toUpperCase();
  if (ONE_WORD.test(whole)) return { keyword: whole, kind };
  const first = FIRST_WORD.exec(whole)?.[0];
  return { keyword: first && DEFAULTS[kind].has(first) ? first : CLASS_NAME[kind], kind };
}
