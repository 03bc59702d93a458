/**
 * Numbers toolset: the account's phone numbers and Messaging Services. Buying and releasing
 * are listed only with TWILIO_MCP_ALLOW_NUMBER_PURCHASE=true (they cost money or lose a number).
 */
import { z } from 'zod';
import { phoneAddress } from '../domain/phone-address.js';
import { defineTool } from './define-tool.js';

const numberSid = z.string().regex(/^PN[0-9a-fA-F]{32}$/, 'must be a phone number SID: "PN" followed by 32 hex characters');
const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' });
const capabilities = z.object({ sms: z.boolean(), mms: z.boolean(), voice: z.boolean() });
const OwnedSchema = z.object({
  sid: z.string(),
  phone_number: z.string(),
  friendly_name: z.string().nullable(),
  capabilities,
  sms_url: z.string().nullable(),
  voice_url: z.string().nullable(),
  status_callback: z.string().nullable(),
  messaging_services: z.array(z.string()),
});

const listPhoneNumbers = defineTool({
  name: 'list_phone_numbers',
  title: 'List your phone numbers',
  description: "This account's numbers: capabilities, SMS/voice webhook URLs, the Messaging Services each sends for. Free.",
  kind: 'read',
  toolset: 'numbers',
  input: z.object({ limit: z.number().int().min(1).max(200).default(50) }),
  output: z.object({ phone_numbers: z.array(OwnedSchema) }),
  handle: (args, { services }) => services.numbers.listOwned(args),
});

const searchAvailableNumbers = defineTool({
  name: 'search_available_numbers',
  title: 'Search numbers for sale',
  description: 'Numbers you could buy, by country and type, with the monthly price. Free.',
  kind: 'read',
  toolset: 'numbers',
  input: z.object({
    country: z.string().regex(/^[A-Za-z]{2}$/, 'an ISO country code such as US').default('US'),
    type: z.enum(['local', 'mobile', 'toll_free']).default('local'),
    area_code: z.number().int().min(100).max(999).optional().describe('e.g. 415'),
    contains: z.string().regex(/^[0-9A-Za-z*]{1,16}$/, 'digits, letters (keypad) and * only').optional(),
    sms_enabled: z.boolean().optional(),
    voice_enabled: z.boolean().optional(),
    limit: z.number().int().min(1).max(50).default(20),
  }),
  output: z.object({
    available: z.array(z.object({ phone_number: z.string(), friendly_name: z.string().nullable(), locality: z.string().nullable(), region: z.string().nullable(), capabilities })),
    monthly_price_usd: z.number().nullable(),
    next_step: z.string().optional(),
  }),
  handle: (args, { services }) => services.numbers.searchAvailable(args),
});

const updatePhoneNumber = defineTool({
  name: 'update_phone_number',
  title: 'Update a phone number',
  description: "Rename a number or change where its messages, calls and status callbacks go.",
  kind: 'update',
  toolset: 'numbers',
  input: z.object({
    sid: numberSid,
    friendly_name: z.string().max(64).optional(),
    sms_url: httpUrl.optional(),
    voice_url: httpUrl.optional(),
    status_callback: httpUrl.optional(),
  }),
  output: OwnedSchema,
  handle: (args, { services }) => services.numbers.update(args),
});

const buyPhoneNumber = defineTool({
  name: 'buy_phone_number',
  title: 'Buy a phone number',
  description: 'Buy a number (billed monthly until released): phone_number from search_available_numbers, or area_code for the first available. Asks the user first.',
  kind: 'send',
  toolset: 'numbers',
  requires: 'number_purchase',
  input: z.object({
    phone_number: phoneAddress('phone_number', { whatsapp: false }).optional(),
    area_code: z.number().int().min(100).max(999).optional(),
  }),
  output: OwnedSchema.extend({ monthly_price_usd: z.number().nullable(), note: z.string() }),
  handle: (args, { services, firstContactConfirmed }) => services.numbers.buy(args, { confirmed: firstContactConfirmed }),
});

const releasePhoneNumber = defineTool({
  name: 'release_phone_number',
  title: 'Release a phone number',
  description: 'Give a number back to Twilio: it stops working at once and may never be yours again. Asks the user first.',
  kind: 'destructive',
  toolset: 'numbers',
  requires: 'number_purchase',
  input: z.object({ sid: numberSid }),
  output: z.object({ sid: z.string(), phone_number: z.string(), released: z.literal(true) }),
  handle: (args, { services, firstContactConfirmed }) => services.numbers.release(args, { confirmed: firstContactConfirmed }),
});

const listMessagingServices = defineTool({
  name: 'list_messaging_services',
  title: 'List Messaging Services',
  description: 'Messaging Services (MG…) and the numbers in each sender pool. Free.',
  kind: 'read',
  toolset: 'numbers',
  input: z.object({ limit: z.number().int().min(1).max(50).default(20) }),
  output: z.object({ messaging_services: z.array(z.object({ sid: z.string(), friendly_name: z.string(), senders: z.array(z.string()) })) }),
  handle: (args, { services }) => services.numbers.listMessagingServices(args),
});

export const numbersTools = [listPhoneNumbers, searchAvailableNumbers, updatePhoneNumber, buyPhoneNumber, releasePhoneNumber, listMessagingServices];
