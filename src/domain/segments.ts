/**
 * SMS segment counting, delegated to Twilio's own calculator (sms-segments-calculator)
 * so the numbers match what Twilio bills. GSM-7: 160 chars in one segment, 153 per part;
 * any non-GSM character switches the whole message to UCS-2: 70, then 67 per part.
 */
import { SegmentedMessage } from 'sms-segments-calculator';

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SegmentInfo {
  encoding: SmsEncoding;
  segments: number;
  /** Characters as the encoding counts them (GSM-7 extension characters count double). */
  characters: number;
}

/** `smartEncoding`: count as Twilio does with SmartEncoded, after replacing GSM-7 look-alikes. */
export function countSegments(body: string, options: { smartEncoding?: boolean } = {}): SegmentInfo {
  const message = new SegmentedMessage(body, 'auto', options.smartEncoding ?? false);
  return {
    encoding: message.encodingName === 'GSM-7' ? 'GSM-7' : 'UCS-2',
    segments: message.segmentsCount,
    characters: message.numberOfCharacters,
  };
}

/**
 * When the body is UCS-2 only because of characters that have GSM-7 look-alikes (curly
 * quotes, en dash, non-breaking space: the calculator's own Smart Encoding map), which they
 * are and what they cost. Undefined when replacing them would not change the encoding.
 */
export function gsmLookalikes(body: string): { characters: string[]; segments: number; segments_if_replaced: number } | undefined {
  const plain = new SegmentedMessage(body);
  if (plain.encodingName !== 'UCS-2') return undefined;
  const smart = new SegmentedMessage(body, 'auto', true);
  if (smart.encodingName !== 'GSM-7') return undefined;
  const characters = [...new Set([...body].filter((ch) => new SegmentedMessage(ch).encodingName === 'UCS-2'))];
  return { characters, segments: plain.segmentsCount, segments_if_replaced: smart.segmentsCount };
}
