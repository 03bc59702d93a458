/**
 * The time-compressed message lifecycle.
 *
 *   From a number:            queued ─→ sending ─→ sent ─→ delivered | undelivered
 *                                               └─→ failed
 *   Via a Messaging Service:  accepted ─→ queued ─→ … as above (`from` is null until queued,
 *                             because Twilio picks the sender from the service's pool then)
 *   Scheduled:                scheduled ─→ (at SendAt) queued ─→ … | canceled
 *
 * Each step happens `timing.*Ms` after create (or after SendAt): defaults 100 / 400 /
 * 1500 ms, so a test sees a delivery receipt within two seconds.
 *
 * Status callbacks: Twilio sends none for a message's INITIAL status (its docs say so), and
 * none for `sending`, then one per change. The sandbox therefore posts `queued` only when a
 * message leaves `accepted` or `scheduled`, then `sent` and the final status; `canceled`
 * when a scheduled message is canceled.
 *
 * WHATSAPP WINDOW. Free text (no ContentSid) to a WhatsApp user who has not written to that
 * sender within 24 hours fails with 63016 instead of being sent (checked when the message is
 * queued, before the rule below); a template passes. The inbound simulator opens the window.
 *
 * DELIVERY-FAILURE RULE (also in src/sandbox/README.md). The last four digits of the
 * recipient decide the outcome, so a test can ask for a failure on purpose:
 *   …3003 → undelivered, error_code 30003 (Unreachable destination handset)
 *   …3005 → undelivered, error_code 30005 (Unknown destination handset)
 *   …3006 → undelivered, error_code 30006 (Landline or unreachable carrier)
 *   …3007 → undelivered, error_code 30007 (Message filtered)
 *   …3008 → failed,      error_code 30008 (Unknown error) — fails instead of being sent
 * e.g. `+14155553003`, `whatsapp:+14155553007`. Every other recipient ends `delivered`.
 * These are delivery-time failures: the create still answers 201, as Twilio's does.
 */
import { ratesForAddress } from './prices.js';

export interface Timing {
  sendingMs: number;
  sentMs: number;
  deliveredMs: number;
}

export const DEFAULT_TIMING: Timing = { sendingMs: 100, sentMs: 400, deliveredMs: 1500 };

/**
 * Fills defaults and keeps the steps in order whatever a caller passes: `{ deliveredMs: 50 }`
 * alone means "all done by 50 ms", not "sent at 400 ms, delivered at 400 ms".
 */
export function normalizeTiming(partial: Partial<Timing> = {}): Timing {
  const given = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
  const deliveredGiven = given(partial.deliveredMs);
  const sentGiven = given(partial.sentMs);
  const sendingMs = given(partial.sendingMs) ?? Math.min(DEFAULT_TIMING.sendingMs, sentGiven ?? Infinity, deliveredGiven ?? Infinity);
  const sentMs = Math.max(sendingMs, sentGiven ?? Math.min(DEFAULT_TIMING.sentMs, deliveredGiven ?? Infinity));
  const deliveredMs = Math.max(sentMs, deliveredGiven ?? DEFAULT_TIMING.deliveredMs);
  return { sendingMs, sentMs, deliveredMs };
}

export interface Outcome {
  status: 'delivered' | 'undelivered' | 'failed';
  errorCode: number | null;
  errorMessage: string | null;
}

/** WhatsApp's customer-service window: free text only within 24 hours of the user's last message. */
export const WHATSAPP_WINDOW_MS = 24 * 60 * 60 * 1000;

export const WHATSAPP_WINDOW_CLOSED: Outcome = {
  status: 'failed',
  errorCode: 63016,
  errorMessage: 'Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.',
};

const FAILURES: Record<string, Outcome> = {
  '3003': { status: 'undelivered', errorCode: 30003, errorMessage: 'Unreachable destination handset' },
  '3005': { status: 'undelivered', errorCode: 30005, errorMessage: 'Unknown destination handset' },
  '3006': { status: 'undelivered', errorCode: 30006, errorMessage: 'Landline or unreachable carrier' },
  '3007': { status: 'undelivered', errorCode: 30007, errorMessage: 'Message filtered' },
  '3008': { status: 'failed', errorCode: 30008, errorMessage: 'Unknown error' },
};

export function finalOutcome(to: string): Outcome {
  const digits = to.replace(/\D/g, '');
  return FAILURES[digits.slice(-4)] ?? { status: 'delivered', errorCode: null, errorMessage: null };
}

/**
 * What the sandbox bills, as a negative string with five decimals like Twilio's `price`,
 * from the one price table (prices.ts): SMS per segment, MMS and WhatsApp per message, by
 * the recipient's calling code.
 */
export function priceFor(message: { to: string; numSegments: number; numMedia: number }): string {
  const rates = ratesForAddress(message.to);
  let amount: number;
  if (message.to.startsWith('whatsapp:')) amount = rates.whatsappPerMessage;
  else if (message.numMedia > 0) amount = rates.mmsPerMessage;
  else amount = rates.smsPerSegment * message.numSegments;
  return (-amount).toFixed(5);
}

/** Carrier delivery-receipt time (`RawDlrDoneDate`), YYMMDDhhmm in UTC, as captured payloads show it. */
export function rawDlrDoneDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${String(d.getUTCFullYear()).slice(2)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}
