/**
 * The receiver's voice routes: Twilio fetches TwiML here (a number answered by a hosted IVR
 * flow, each step of a flow, each answer to a gather, the end of a voicemail). Unlike the
 * other webhooks these answer with a document, so the receiver hands them to a handler.
 *
 *   /voice/inbound                                   a call to a number set with set_inbound_call_flow
 *   /voice/ivr/{flow}/{step}?attempt=N               a step's prompt (and its gather)
 *   /voice/ivr/{flow}/{step}/answer?attempt=N        what the caller entered or said
 *   /voice/ivr/{flow}/{step}/voicemail               a voicemail recorded
 */
export type VoiceRoute =
  | { kind: 'inbound' }
  | { kind: 'step'; flow: string; step: string; attempt: number }
  | { kind: 'answer'; flow: string; step: string; attempt: number }
  | { kind: 'voicemail'; flow: string; step: string };

/** Answers a voice webhook with TwiML; `params` are Twilio's POST parameters. */
export type VoiceWebhookHandler = (route: VoiceRoute, params: Record<string, string>) => Promise<string>;

export const VOICE_ROUTE_PREFIX = '/voice';
const IVR_PATH = /^\/voice\/ivr\/([a-zA-Z0-9_.-]{1,64})\/([a-zA-Z0-9_-]{1,40})(\/answer|\/voicemail)?$/;
/** Bounded: a flow repeats a step at most a few times, and a forged attempt must not be huge. */
const MAX_ATTEMPT = 10;

/** The route of a path below the webhook prefix, or undefined when it is not a voice route. */
export function parseVoiceRoute(path: string, query: string): VoiceRoute | undefined {
  if (path === '/voice/inbound') return { kind: 'inbound' };
  const match = IVR_PATH.exec(path);
  if (!match) return undefined;
  const [, flow, step, tail] = match as unknown as [string, string, string, string | undefined];
  const attemptText = new URLSearchParams(query).get('attempt');
  const attempt = Math.min(MAX_ATTEMPT, Math.max(1, Number.parseInt(attemptText ?? '1', 10) || 1));
  if (tail === '/voicemail') return { kind: 'voicemail', flow, step };
  return { kind: tail === '/answer' ? 'answer' : 'step', flow, step, attempt };
}
