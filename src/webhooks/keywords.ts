/**
 * Twilio's default opt-out, opt-in and help keywords. The whole body must be the keyword
 * (trimmed, any case): "Stop by at 5" is not an opt-out.
 */
const OPT_OUT = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT']);
const OPT_IN = new Set(['START', 'YES', 'UNSTOP']);
const HELP = new Set(['HELP', 'INFO']);

export type KeywordKind = 'opt-out' | 'opt-in' | 'help';

export function classifyKeyword(body: string): { keyword: string; kind: KeywordKind } | undefined {
  const keyword = body.trim().toUpperCase();
  if (OPT_OUT.has(keyword)) return { keyword, kind: 'opt-out' };
  if (OPT_IN.has(keyword)) return { keyword, kind: 'opt-in' };
  if (HELP.has(keyword)) return { keyword, kind: 'help' };
  return undefined;
}
