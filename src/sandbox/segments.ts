/**
 * Segments and Smart Encoding, both from `sms-segments-calculator` (Twilio's own segment
 * calculator, which also carries Twilio's Smart Encoding table): nothing hand-written.
 */
import { SegmentedMessage } from 'sms-segments-calculator';

/**
 * Twilio counts MMS as one message whatever the body length; SMS (and WhatsApp, which
 * Twilio still reports in segments) by GSM-7 / UCS-2 segments.
 */
export function segmentsOf(body: string, mediaCount: number): number {
  if (mediaCount > 0 || body === '') return 1;
  return new SegmentedMessage(body).segmentsCount;
}

/**
 * `SmartEncoded=true`: every character with a GSM-7 look-alike (curly quotes, en and em
 * dashes, non-breaking space, ellipsis, …) replaced by it, as Twilio does before sending,
 * so the stored body, its segments and its price are those of the replaced text.
 */
export function smartEncode(body: string): string {
  return new SegmentedMessage(body, 'auto', true).graphemes.join('');
}
