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

export function countSegments(body: string): SegmentInfo {
  const message = new SegmentedMessage(body);
  return {
    encoding: message.encodingName === 'GSM-7' ? 'GSM-7' : 'UCS-2',
    segments: message.segmentsCount,
    characters: message.numberOfCharacters,
  };
}
