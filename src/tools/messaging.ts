/**
 * Messaging toolset: SMS/MMS, WhatsApp, reading and canceling messages.
 * Handlers stay short: the schemas here are the contract, the service does the work.
 */
import { z } from 'zod';
import { messagingServiceSid, phoneAddress } from '../domain/phone-address.js';
import { compactMessagePage, CompactMessagePageSchema, MessageViewSchema, OutboundMessageViewSchema } from '../services/message-view.js';
import { defineTool } from './define-tool.js';

const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' });
const messageSid = z
  .string()
  .regex(/^(SM|MM)[0-9a-fA-F]{32}$/, 'must be a message SID: "SM" or "MM" followed by 32 hex characters');
const mediaUrls = z.array(httpUrl).min(1).max(10, 'at most 10 media URLs per message (Twilio error 21623)');

// A time without a zone means a different instant on every machine: refuse it rather than guess.
const ZONED_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
const ZONE_EXAMPLE = 'e.g. "2026-12-01T15:30:00Z" (UTC) or "2026-12-01T15:30:00+01:00"';
const sendAt = z
  .string()
  .min(1, `send_at is empty: leave it out to send now, or give a time with its zone, ${ZONE_EXAMPLE}`)
  .refine((v) => ZONED_TIME.test(v.trim()) && !Number.isNaN(Date.parse(v)), {
    message: `send_at must be an ISO 8601 time with a zone offset, ${ZONE_EXAMPLE}`,
  });

const SendResultSchema = OutboundMessageViewSchema.extend({
  encoding: z.enum(['GSM-7', 'UCS-2']).nullable(),
  segments: z.number().nullable(),
  dry_run: z.literal(true).optional(),
  estimated_cost_usd: z.number().optional(),
  cost_source: z.string().optional(),
  gsm_lookalikes: z
    .object({ characters: z.array(z.string()), segments: z.number(), segments_if_replaced: z.number(), next_step: z.string() })
    .optional(),
  warnings: z.array(z.string()).optional(),
});

const guardFlags = {
  transactional: z.boolean().optional().describe('Time-critical (e.g. a verification code): allowed during quiet hours'),
  allow_duplicate: z.boolean().optional().describe('Send even if the same text went to this number minutes ago'),
};

const sendSms = defineTool({
  name: 'send_sms',
  title: 'Send SMS/MMS',
  description:
    'Send an SMS (or MMS with media_url) to one phone number. Billed per segment and irreversible: confirm the recipient and the text first. ' +
    'Returns the message SID and status (usually "queued"); use get_message to follow delivery.',
  kind: 'send',
  toolset: 'messaging',
  input: z.object({
    to: phoneAddress('to', { whatsapp: false }).describe('Recipient, E.164 (+14155550123)'),
    body: z
      .string()
      .min(1, 'body is empty: give the text to send')
      .max(1600, 'body is over 1600 characters (Twilio error 21617): shorten it or split it into several messages')
      .describe('Text, up to 1600 characters. GSM-7: 160 chars per single segment (153 per part); any emoji or non-GSM char: 70 (67)'),
    from: phoneAddress('from', { whatsapp: false }).optional().describe('Sender number of this account (E.164). Default: TWILIO_PHONE_NUMBER'),
    media_url: mediaUrls.optional().describe('Up to 10 public http(s) URLs of images/files: makes it an MMS'),
    status_callback: httpUrl.optional().describe('URL Twilio POSTs delivery status updates to'),
    messaging_service_sid: messagingServiceSid().optional().describe('Send through this messaging service (MG…) instead of a single number'),
    send_at: sendAt.optional().describe('Schedule: ISO 8601 with zone (…Z or +01:00), 15 min to 35 days ahead; needs a messaging service'),
    smart_encoding: z.boolean().optional().describe('Let Twilio swap curly quotes, dashes etc. for GSM-7 look-alikes: fewer segments, lower cost'),
    ...guardFlags,
  }),
  output: SendResultSchema,
  handle: (args, { services, firstContactConfirmed }) => services.messaging.sendSms(args, { firstContactConfirmed }),
});

const sendWhatsapp = defineTool({
  name: 'send_whatsapp',
  title: 'Send WhatsApp message',
  description:
    'Send a WhatsApp message. Free text (body and/or media_url) reaches only people who wrote to you in the last 24 hours; otherwise send an approved template (content_sid + content_variables). Billed and irreversible.',
  kind: 'send',
  toolset: 'messaging',
  input: z.object({
    to: phoneAddress('to').describe('Recipient: whatsapp:+14155550123 or +14155550123'),
    body: z.string().max(1600, 'body is over 1600 characters (Twilio error 21617)').optional().describe('Free text (inside the 24-hour window)'),
    content_sid: z.string().regex(/^HX[0-9a-fA-F]{32}$/, 'must be a content template SID: "HX" followed by 32 hex characters').optional()
      .describe('Approved template SID (HX…)'),
    content_variables: z.record(z.string(), z.string()).optional().describe('Template variables, e.g. {"1": "Ada", "2": "10:30"}'),
    from: phoneAddress('from').optional().describe('WhatsApp sender. Default: TWILIO_WHATSAPP_NUMBER'),
    media_url: mediaUrls.optional().describe('Up to 10 public http(s) media URLs'),
    status_callback: httpUrl.optional().describe('URL Twilio POSTs delivery status updates to'),
    ...guardFlags,
  }),
  output: SendResultSchema,
  handle: (args, { services, firstContactConfirmed }) => services.messaging.sendWhatsapp(args, { firstContactConfirmed }),
});

const getMessage = defineTool({
  name: 'get_message',
  title: 'Get message',
  description: 'Fetch one message by SID: status (queued → sent → delivered, or undelivered/failed with error_code and its meaning), price, segments. Free.',
  kind: 'read',
  toolset: 'messaging',
  input: z.object({ sid: messageSid.describe('Message SID (SM… or MM…)') }),
  output: MessageViewSchema,
  handle: (args, { services }) => services.messaging.getMessage(args.sid),
});

const listMessages = defineTool({
  name: 'list_messages',
  title: 'List messages',
  description:
    "List messages of this account, newest first, compact (get_message has every field). Date filters follow Twilio's DateSent, which failed, canceled and scheduled messages lack: find those with status. Free.",
  kind: 'read',
  toolset: 'messaging',
  input: z.object({
    to: phoneAddress('to').optional().describe('Only messages to this number (E.164, or whatsapp:+…)'),
    from: phoneAddress('from').optional().describe('Only messages from this number'),
    date_sent_after: z.string().optional().describe('ISO 8601 time: only messages sent at or after it'),
    date_sent_before: z.string().optional().describe('ISO 8601 time: only messages sent before it'),
    status: z
      .enum(['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'scheduled', 'canceled', 'received', 'receiving', 'accepted', 'read'])
      .optional()
      .describe('Only messages with this status'),
    limit: z.number().int().min(1).max(100).default(20).describe('At most this many messages (1–100, default 20)'),
    page_token: z.string().max(4096).optional().describe('next_page_token of a previous call; filters then come from the token'),
  }),
  output: CompactMessagePageSchema,
  // Compacting is idempotent: the page is compact whether the service returns full or compact rows.
  handle: async (args, { services }) => compactMessagePage(await services.messaging.listMessages(args)),
});

const cancelMessage = defineTool({
  name: 'cancel_message',
  title: 'Cancel scheduled message',
  description: 'Cancel a scheduled message (status "scheduled") before it is sent. Messages already sent cannot be recalled.',
  kind: 'destructive',
  toolset: 'messaging',
  input: z.object({ sid: messageSid.describe('SID of the scheduled message') }),
  output: OutboundMessageViewSchema,
  handle: (args, { services }) => services.messaging.cancelMessage(args.sid),
});

export const messagingTools = [sendSms, sendWhatsapp, getMessage, listMessages, cancelMessage];
