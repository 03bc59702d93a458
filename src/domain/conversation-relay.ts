/**
 * The ConversationRelay wire protocol as Twilio documents it: what Twilio sends over the
 * socket (parsed strictly: anything else is malformed and ignored by the caller), and what
 * this server sends (built by typed constructors, so a frame is valid by construction).
 */

export type RelayInbound =
  | { type: 'setup'; sessionId: string; callSid: string; from: string; to: string; direction?: string; customParameters: Record<string, string> }
  | { type: 'prompt'; voicePrompt: string; lang?: string; last: boolean }
  | { type: 'dtmf'; digit: string }
  | { type: 'interrupt'; utteranceUntilInterrupt: string; durationUntilInterruptMs: number }
  | { type: 'error'; description: string }
  | { type: 'info'; name?: string; value?: unknown };

export type RelayOutbound =
  | { type: 'text'; token: string; last: boolean; lang?: string; interruptible?: boolean; preemptible?: boolean }
  | { type: 'play'; source: string; loop?: number; interruptible?: boolean; preemptible?: boolean }
  | { type: 'sendDigits'; digits: string }
  | { type: 'language'; ttsLanguage?: string; transcriptionLanguage?: string }
  | { type: 'end'; handoffData?: string };

const str = (v: unknown): v is string => typeof v === 'string';

/** The frame Twilio sent, or undefined when it is not one of the documented messages. */
export function parseRelayFrame(text: string): RelayInbound | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'setup': {
      if (!str(m.callSid) || !str(m.sessionId)) return undefined;
      const params = m.customParameters && typeof m.customParameters === 'object' ? (m.customParameters as Record<string, unknown>) : {};
      return {
        type: 'setup',
        sessionId: m.sessionId,
        callSid: m.callSid,
        from: str(m.from) ? m.from : '',
        to: str(m.to) ? m.to : '',
        ...(str(m.direction) && { direction: m.direction }),
        customParameters: Object.fromEntries(Object.entries(params).filter(([, v]) => str(v))) as Record<string, string>,
      };
    }
    case 'prompt':
      if (!str(m.voicePrompt)) return undefined;
      return { type: 'prompt', voicePrompt: m.voicePrompt, ...(str(m.lang) && { lang: m.lang }), last: m.last !== false };
    case 'dtmf':
      return str(m.digit) && /^[0-9*#A-D]$/.test(m.digit) ? { type: 'dtmf', digit: m.digit } : undefined;
    case 'interrupt':
      return {
        type: 'interrupt',
        utteranceUntilInterrupt: str(m.utteranceUntilInterrupt) ? m.utteranceUntilInterrupt : '',
        durationUntilInterruptMs: typeof m.durationUntilInterruptMs === 'number' ? m.durationUntilInterruptMs : 0,
      };
    case 'error':
      return { type: 'error', description: str(m.description) ? m.description : 'unknown error' };
    case 'info':
      return { type: 'info', ...(str(m.name) && { name: m.name }), value: m.value };
    default:
      return undefined;
  }
}

export const relayText = (token: string, options: { last?: boolean; interruptible?: boolean; preemptible?: boolean; lang?: string } = {}): RelayOutbound => ({
  type: 'text',
  token,
  last: options.last ?? true,
  ...(options.lang && { lang: options.lang }),
  ...(options.interruptible !== undefined && { interruptible: options.interruptible }),
  ...(options.preemptible !== undefined && { preemptible: options.preemptible }),
});

export const relayEnd = (handoffData?: Record<string, unknown>): RelayOutbound => ({ type: 'end', ...(handoffData && { handoffData: JSON.stringify(handoffData) }) });
