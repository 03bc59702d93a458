/**
 * TwiML built with the official SDK's VoiceResponse (escaping, attribute spelling and
 * element names are Twilio's, not ours).
 *
 * The SDK is loaded on first use, and only its twiml/VoiceResponse module: importing it
 * costs ~50 ms against ~260 ms for the whole `twilio` package (measured on this machine),
 * and neither cost is paid at cold start.
 */
import { createRequire } from 'node:module';
import type VoiceResponseClass from 'twilio/lib/twiml/VoiceResponse.js';
import { lazy } from '../../util/lazy.js';

export type VoiceResponse = VoiceResponseClass;
export type SayVoice = VoiceResponseClass.SayAttributes['voice'];
export type SayLanguage = VoiceResponseClass.SayAttributes['language'];

export const loadVoiceResponse = lazy(async () => (await import('twilio/lib/twiml/VoiceResponse.js')).default);

const requireHere = createRequire(import.meta.url);
let voiceResponseLoaded: typeof VoiceResponseClass | undefined;
/**
 * The same class, loaded synchronously on first use, for checks that must stay synchronous
 * (checkIvrFlow renders every step to validate it). Node shares one module instance
 * between this require and the dynamic import above.
 */
export function voiceResponseClassSync(): typeof VoiceResponseClass {
  voiceResponseLoaded ??= requireHere('twilio/lib/twiml/VoiceResponse.js') as typeof VoiceResponseClass;
  return voiceResponseLoaded;
}

/** A fresh, empty <Response>. */
export async function newVoiceResponse(): Promise<VoiceResponse> {
  const VoiceResponse = await loadVoiceResponse();
  return new VoiceResponse();
}

/**
 * The Say attributes for a voice and language the caller chose. The SDK types both as
 * closed unions; the values were checked by validateTwiml, and Twilio adds voices faster
 * than the SDK's union grows, so they are passed through as given.
 */
export function sayAttributes(voice: string | undefined, language: string | undefined): VoiceResponseClass.SayAttributes {
  return {
    ...(voice !== undefined ? { voice: voice as SayVoice } : {}),
    ...(language !== undefined ? { language: language as SayLanguage } : {}),
  };
}

/** How long a recorded reply may run by default (seconds). */
export const DEFAULT_REPLY_MAX_SECONDS = 120;

/**
 * A document that speaks `text` once, then hangs up. With `record`, the callee's reply is
 * recorded after the words (<Record>, like a voicemail). Without an action URL Twilio
 * re-requests the current document after a recording (its docs warn this can loop), so a
 * server that has a webhook URL should pass `recordAction`; the trailing <Hangup/> covers
 * an empty recording, after which Twilio goes on with the next verb.
 */
export async function sayTwiml(options: {
  text: string;
  voice?: string;
  language?: string;
  record?: boolean;
  recordAction?: string;
  recordMaxSeconds?: number;
}): Promise<string> {
  const response = await newVoiceResponse();
  response.say(sayAttributes(options.voice, options.language), options.text);
  if (options.record) {
    response.record({
      maxLength: options.recordMaxSeconds ?? DEFAULT_REPLY_MAX_SECONDS,
      playBeep: true,
      ...(options.recordAction !== undefined ? { action: options.recordAction, method: 'POST' } : {}),
    });
  }
  response.hangup();
  return response.toString();
}
