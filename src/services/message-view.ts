/**
 * The shape an agent sees for a message: the fields it needs, snake_case as Twilio's
 * JSON, numbers as numbers, dates ISO 8601. Trimmed for tokens (no URIs).
 */
import { z } from 'zod';
import { explainTwilioError } from '../errors/twilio-error-catalog.js';
import type { MessageRecord } from '../gateway/twilio-gateway.js';

export const MessageViewSchema = z.object({
  message_sid: z.string(),
  account_sid: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  body: z.string().nullable(),
  status: z.string(),
  direction: z.string(),
  num_segments: z.number().nullable(),
  num_media: z.number().nullable(),
  price: z.string().nullable(),
  price_unit: z.string().nullable(),
  error_code: z.number().nullable(),
  error_message: z.string().nullable(),
  error_meaning: z.string().optional(),
  messaging_service_sid: z.string().nullable(),
  date_created: z.string().nullable(),
  date_sent: z.string().nullable(),
  date_updated: z.string().nullable(),
});
export type MessageView = z.infer<typeof MessageViewSchema>;

const iso = (d: Date | null) => (d && !Number.isNaN(d.getTime()) ? d.toISOString() : null);

export function toMessageView(m: MessageRecord): MessageView {
  const explained = m.errorCode ? explainTwilioError(m.errorCode) : undefined;
  return {
    message_sid: m.sid,
    account_sid: m.accountSid,
    from: m.from,
    to: m.to,
    body: m.body,
    status: m.status,
    direction: m.direction,
    num_segments: m.numSegments,
    num_media: m.numMedia,
    price: m.price,
    price_unit: m.priceUnit,
    error_code: m.errorCode,
    error_message: m.errorMessage,
    ...(explained && { error_meaning: `${explained.meaning} ${explained.nextStep}` }),
    messaging_service_sid: m.messagingServiceSid,
    date_created: iso(m.dateCreated),
    date_sent: iso(m.dateSent),
    date_updated: iso(m.dateUpdated),
  };
}
