/** Lookup toolset: what a phone number is, before anything is sent to it. */
import { z } from 'zod';
import { LOOKUP_FIELDS } from '../services/lookup.js';
import { defineTool } from './define-tool.js';

const lookupPhoneNumber = defineTool({
  name: 'lookup_phone_number',
  title: 'Look up a phone number',
  description:
    'Validate a number and get its country and formats (free); with fields, line type and carrier, caller name, SMS-pumping risk or SIM swap (each billed per lookup; the result says the cost). Sends nothing.',
  kind: 'read',
  toolset: 'lookup',
  input: z.object({
    phone_number: z.string().min(2).max(32).describe('E.164 (+14155550123), or national with country_code'),
    country_code: z.string().regex(/^[A-Za-z]{2}$/, 'an ISO country code such as US or GB').optional(),
    fields: z.array(z.enum(LOOKUP_FIELDS)).max(5).optional(),
  }),
  output: z.object({
    phone_number: z.string(),
    valid: z.boolean(),
    validation_errors: z.array(z.string()).optional(),
    country_code: z.string().nullable(),
    calling_country_code: z.string().nullable(),
    national_format: z.string().nullable(),
    line_type_intelligence: z.record(z.string(), z.unknown()).nullable().optional(),
    caller_name: z.record(z.string(), z.unknown()).nullable().optional(),
    sms_pumping_risk: z.record(z.string(), z.unknown()).nullable().optional(),
    sim_swap: z.record(z.string(), z.unknown()).nullable().optional(),
    fields_asked: z.array(z.string()),
    estimated_cost_usd: z.number(),
    note: z.string().optional(),
  }),
  handle: (args, { services }) => services.lookup.lookup(args),
});

export const lookupTools = [lookupPhoneNumber];
