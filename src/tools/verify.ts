/**
 * Verify toolset: one-time codes (2FA) that Twilio generates and delivers. The agent never
 * sees a code: it asks the person for the one they received and checks it.
 */
import { z } from 'zod';
import { phoneOrEmailAddress } from '../domain/phone-address.js';
import { defineTool } from './define-tool.js';

const to = phoneOrEmailAddress('to').describe('E.164 phone number, or an email address for channel email');
const serviceSid = z.string().regex(/^VA[0-9a-fA-F]{32}$/, 'must be a Verify service SID: "VA" followed by 32 hex characters').optional()
  .describe('Verify service (VA…). Default TWILIO_VERIFY_SERVICE_SID, else this server\'s own');
const VerificationSchema = z.object({
  verification_sid: z.string(),
  service_sid: z.string(),
  to: z.string(),
  channel: z.string(),
  status: z.string(),
  send_attempts: z.number(),
});

const startVerification = defineTool({
  name: 'start_verification',
  title: 'Send a verification code',
  description:
    'Send a one-time code (Twilio Verify) by sms, call, whatsapp or email. Billed. You never see the code: ask the person for it, then check_verification. Starting again resends.',
  kind: 'send',
  toolset: 'verify',
  input: z.object({
    to,
    channel: z.enum(['sms', 'call', 'whatsapp', 'email']).default('sms'),
    locale: z.string().max(16).optional().describe('Language of the message, e.g. en, fr, pt-BR'),
    service_sid: serviceSid,
  }),
  output: VerificationSchema.partial().extend({ to: z.string(), status: z.string(), next_step: z.string(), note: z.string(), dry_run: z.literal(true).optional(), warnings: z.array(z.string()).optional() }),
  handle: (args, { services }) => services.verify.start(args),
});

const checkVerification = defineTool({
  name: 'check_verification',
  title: 'Check a verification code',
  description: 'Check the code the person read out: approved, or pending with attempts left (5 per verification). Free.',
  kind: 'update',
  toolset: 'verify',
  input: z.object({
    to,
    code: z.string().regex(/^\d{4,10}$/, 'a code is 4 to 10 digits, as the person received it'),
    service_sid: serviceSid,
  }),
  output: VerificationSchema.extend({ approved: z.boolean(), attempts_left: z.number(), next_step: z.string() }),
  handle: (args, { services }) => services.verify.check(args),
});

const cancelVerification = defineTool({
  name: 'cancel_verification',
  title: 'Cancel a verification',
  description: 'Cancel the pending verification of a number or address: its code stops working.',
  kind: 'update',
  toolset: 'verify',
  input: z.object({ to, service_sid: serviceSid }),
  output: VerificationSchema.extend({ next_step: z.string() }),
  handle: (args, { services }) => services.verify.cancel(args),
});

const readSandboxDevice = defineTool({
  name: 'read_sandbox_device',
  title: 'Read a sandbox phone or mailbox',
  description: 'Sandbox only: what a phone number or email address received (texts, calls, emails, codes included), newest first.',
  kind: 'read',
  toolset: 'verify',
  sandboxOnly: true,
  input: z.object({ to: phoneOrEmailAddress('to').describe('E.164 number or email address'), limit: z.number().int().min(1).max(50).default(10) }),
  output: z.object({
    to: z.string(),
    received: z.array(z.object({ kind: z.string(), from: z.string(), subject: z.string().optional(), body: z.string(), at: z.string() })),
  }),
  handle: (args, { services }) => services.sandboxDevices.read(args),
});

export const verifyTools = [startVerification, checkVerification, cancelVerification, readSandboxDevice];
