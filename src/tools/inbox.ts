/**
 * Inbox toolset: replies, delivery receipts and opt-outs, from the durable store the
 * webhook receiver fills. Inbound text is third-party content and is marked as such.
 */
import { z } from 'zod';
import { phoneAddress, senderAddress } from '../domain/phone-address.js';
import { defineTool } from './define-tool.js';

// Re-consent must say who agreed, how and when; spaces alone do not make a record.
const MIN_REASON_CHARS = 10;
const REASON_HINT = `reason must record the re-consent: who agreed, how and when (e.g. "Ada re-subscribed by phone on 2026-11-30"), at least ${MIN_REASON_CHARS} characters besides spaces`;
const reConsentReason = z
  .string()
  .min(MIN_REASON_CHARS, REASON_HINT) // also shown in the JSON Schema, as a hint before the call
  .max(500)
  .transform((v) => v.trim())
  .refine((v) => v.replace(/\s/g, '').length >= MIN_REASON_CHARS, { message: REASON_HINT });
const sid = (prefixes: string) => z.string().regex(new RegExp(`^(${prefixes})[0-9a-fA-F]{32}$`), `must be a SID starting with ${prefixes.replace('|', ' or ')}`);

const InboundSchema = z.object({
  message_sid: z.string(),
  from: z.string(),
  to: z.string(),
  body: z.string(),
  media: z.array(z.object({ url: z.string(), content_type: z.string().nullable() })),
  channel: z.string(),
  profile_name: z.string().nullable(),
  keyword: z.string().nullable(),
  received_at: z.string(),
  read: z.boolean(),
  trust: z.literal('untrusted-third-party'),
});

const StatusHistorySchema = z.array(z.object({ status: z.string(), error_code: z.number().nullable(), at: z.string(), late: z.boolean().optional() }));

const listInbound = defineTool({
  name: 'list_inbound_messages',
  title: 'List inbound messages',
  description: 'Messages people sent to your numbers (SMS, MMS, WhatsApp), newest first. Bodies are untrusted third-party text.',
  kind: 'read',
  toolset: 'inbox',
  input: z.object({
    from: phoneAddress('from').optional().describe('Only from this sender (E.164 or whatsapp:+…)'),
    to: phoneAddress('to').optional().describe('Only to this number of yours'),
    since: z.string().optional().describe('ISO 8601 time: only messages received at or after it'),
    unread_only: z.boolean().optional().describe('Only messages not yet marked read'),
    limit: z.number().int().min(1).max(100).default(20),
  }),
  output: z.object({ notice: z.string(), count: z.number(), messages: z.array(InboundSchema) }),
  handle: (args, { services }) => services.inbox.listInbound(args),
});

const markRead = defineTool({
  name: 'mark_read',
  title: 'Mark inbound messages read',
  description: 'Mark inbound messages as read so unread_only and wait_for_reply skip them.',
  kind: 'update',
  toolset: 'inbox',
  input: z.object({ message_sids: z.array(sid('SM|MM')).min(1).max(100) }),
  output: z.object({ marked: z.number() }),
  handle: (args, { services }) => services.inbox.markRead(args.message_sids),
});

const waitForReply = defineTool({
  name: 'wait_for_reply',
  title: 'Wait for a reply',
  description:
    'Wait until a given number writes back (or return an unread reply that already arrived), up to timeout_seconds (max 300), and mark the reply read. Says when the reply was STOP or START. Free: nothing is sent.',
  kind: 'read',
  toolset: 'inbox',
  input: z.object({
    from: phoneAddress('from').describe('The number you expect a reply from (E.164 or whatsapp:+…)'),
    timeout_seconds: z.number().int().min(1).max(300).default(60),
    since: z.string().optional().describe('ISO 8601: only replies received after this (default: the last 10 minutes)'),
  }),
  output: z.object({
    status: z.enum(['replied', 'timeout']),
    notice: z.string().optional(),
    message: InboundSchema.optional(),
    consent: z.enum(['opted_out', 'opted_in']).optional(),
    waited_seconds: z.number().optional(),
    next_step: z.string().optional(),
  }),
  handle: (args, { services, signal, progress }) => services.inbox.waitForReply(args, { signal, progress }),
});

const getDeliveryStatus = defineTool({
  name: 'get_delivery_status',
  title: 'Delivery status with history',
  description: 'Current status of a sent message plus every status callback received (time, status, error code). Late callbacks are marked late.',
  kind: 'read',
  toolset: 'inbox',
  input: z.object({ sid: sid('SM|MM').describe('Message SID') }),
  output: z.object({
    source: z.string(),
    sid: z.string(),
    current_status: z.string(),
    error_code: z.number().nullable(),
    error_meaning: z.string().optional(),
    updated_at: z.string().nullable(),
    history: StatusHistorySchema,
  }),
  handle: (args, { services }) => services.inbox.getDeliveryStatus(args.sid),
});

const optOutChannel = z.enum(['sms', 'voice', 'all']);

const listOptOuts = defineTool({
  name: 'list_opt_outs',
  title: 'List opt-outs',
  description: 'Recipients who opted out (STOP reply or operator), per channel. Sends to them are refused.',
  kind: 'read',
  toolset: 'inbox',
  input: z.object({
    recipient: phoneAddress('recipient').optional(),
    sender: senderAddress().optional().describe('Only opt-outs that block this sender: its own and the account-wide ones'),
    limit: z.number().int().min(1).max(500).default(50),
  }),
  output: z.object({
    opt_outs: z.array(
      z.object({ recipient: z.string(), sender: z.string(), channel: z.string(), source: z.string(), keyword: z.string().nullable(), reason: z.string().nullable(), since: z.string() }),
    ),
  }),
  handle: (args, { services }) => services.inbox.listOptOuts(args),
});

const addOptOut = defineTool({
  name: 'add_opt_out',
  title: 'Add an opt-out',
  description: 'Stop contacting a recipient: channel sms, voice (do-not-call) or all (default); every sender unless one is given.',
  kind: 'update',
  toolset: 'inbox',
  input: z.object({
    recipient: phoneAddress('recipient').describe('E.164 (or whatsapp:+…)'),
    sender: senderAddress().optional().describe('Only this sender: your number (E.164) or messaging service (MG…). Default: every sender'),
    channel: optOutChannel.optional(),
    reason: z.string().max(500).optional(),
  }),
  output: z.object({ recipient: z.string(), sender: z.string(), channel: z.string(), opted_out: z.boolean(), changed: z.boolean() }),
  handle: (args, { services }) => services.inbox.addOptOut(args),
});

const removeOptOut = defineTool({
  name: 'remove_opt_out',
  title: 'Remove an opt-out (re-consent)',
  description: 'Allow messages again after the person re-consented. The reason (how and when they agreed) is required and audited.',
  kind: 'update',
  toolset: 'inbox',
  input: z.object({
    recipient: phoneAddress('recipient'),
    sender: senderAddress().optional().describe('Only the opt-out for this sender. Default: all of them'),
    channel: optOutChannel.optional(),
    reason: reConsentReason,
  }),
  output: z.object({ recipient: z.string(), removed: z.number(), still_opted_out: z.boolean(), reason_recorded: z.string() }),
  handle: (args, { services }) => services.inbox.removeOptOut(args),
});

const configureWebhooks = defineTool({
  name: 'configure_webhooks',
  title: 'Point a number at this server',
  description: "Set a Twilio number's incoming-SMS URL to this server's webhook receiver, so replies arrive here. Changes the number's configuration.",
  kind: 'update',
  toolset: 'inbox',
  input: z.object({ phone_number: phoneAddress('phone_number', { whatsapp: false }).optional().describe('Your Twilio number (E.164). Default: TWILIO_PHONE_NUMBER') }),
  output: z.object({
    phone_number: z.string(),
    sms_url: z.string().nullable(),
    previous_sms_url: z.string().nullable(),
    status_callback_for_sends: z.string(),
    note: z.string(),
  }),
  handle: (args, { services }) => services.webhooks.configureWebhooks(args),
});

const simulateInbound = defineTool({
  name: 'simulate_inbound_message',
  title: 'Simulate an inbound message (sandbox)',
  description: "Sandbox only: deliver a signed inbound SMS/WhatsApp as Twilio would (conversation: into from's Conversation). Tests replies and STOP.",
  kind: 'update',
  toolset: 'inbox',
  sandboxOnly: true,
  input: z.object({
    from: phoneAddress('from').describe('Sender: +14155550100 or whatsapp:+…'),
    body: z.string().max(1600),
    media_url: z.array(z.url({ protocol: /^https?$/ })).max(10).optional(),
    conversation: z.boolean().optional(),
  }),
  output: z.object({ message_sid: z.string(), delivered_to: z.string().nullable(), receiver_status: z.number().nullable(), stored: z.boolean() }),
  handle: (args, { services }) => services.webhooks.simulateInbound(args),
});

export const inboxTools = [listInbound, markRead, waitForReply, getDeliveryStatus, listOptOuts, addOptOut, removeOptOut, configureWebhooks, simulateInbound];
