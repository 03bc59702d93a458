/**
 * The shape of a hosted IVR flow: the one contract between the create_ivr_flow tool, the
 * store (flows are kept as this JSON), the flow checker (ivr-flow.ts) and the step renderer
 * that turns a step into TwiML on the receiver.
 *
 * A flow is named steps. A step speaks or plays a prompt; it may gather digits and/or
 * speech, then branches on the answer. Every action either moves to another step or ends
 * the call's flow (transfer, voicemail, hang up); sending an SMS to the caller goes through
 * the send pipeline like every other send, then continues.
 *
 * Descriptions are short on purpose: this schema is part of the tool list every client pays for.
 */
import { z } from 'zod';

export const STEP_ID = /^[a-zA-Z0-9_-]{1,40}$/;
export const FLOW_NAME = /^[a-zA-Z0-9_.-]{1,64}$/;
/** Twilio's documented limit of one <Say>: longer text is refused by Twilio (error 13520 family). */
export const MAX_SAY_CHARS = 4096;

const stepId = z.string().regex(STEP_ID, 'a step id is 1-40 letters, digits, "_" or "-"');
const prompt = z.string().min(1).max(MAX_SAY_CHARS, `at most ${MAX_SAY_CHARS} characters per prompt (Twilio's <Say> limit)`);
const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' });
const e164 = z.string().regex(/^\+[1-9]\d{1,14}$/, 'must be E.164, e.g. +14155550123');

export const IvrActionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('goto'), step: stepId }),
  z.object({ type: z.literal('transfer'), to: e164, say: prompt.optional() }).describe('Dial this number (ends the flow)'),
  z
    .object({
      type: z.literal('voicemail'),
      say: prompt.optional(),
      max_seconds: z.number().int().min(1).max(3600).optional().describe('Default 120'),
      transcribe: z.boolean().optional(),
    })
    .describe('Record a message (ends the flow)'),
  z.object({ type: z.literal('hangup'), say: prompt.optional() }),
  z
    .object({ type: z.literal('sms'), body: z.string().min(1).max(1600), then: stepId.optional().describe('Step after sending; default hang up') })
    .describe('Text the caller (billed, through every send guard)'),
]);
export type IvrAction = z.infer<typeof IvrActionSchema>;

export const IvrBranchSchema = z
  .object({
    digits: z.string().regex(/^[0-9*#]{1,20}$/, 'digits are 0-9, * and #').optional(),
    speech: z.string().min(1).max(100).optional().describe('Matches when the caller says this word or phrase'),
    action: IvrActionSchema,
  })
  .refine((b) => b.digits !== undefined || b.speech !== undefined, { message: 'a branch needs digits and/or speech to match' });
export type IvrBranch = z.infer<typeof IvrBranchSchema>;

export const IvrStepSchema = z.object({
  id: stepId,
  say: prompt.optional(),
  play: httpUrl.optional().describe('Audio URL, instead of say'),
  voice: z.string().max(64).optional(),
  language: z.string().max(16).optional(),
  gather: z
    .object({
      input: z.enum(['dtmf', 'speech', 'dtmf speech']).default('dtmf'),
      num_digits: z.number().int().min(1).max(20).optional(),
      timeout: z.number().int().min(1).max(60).default(5).describe('Seconds of silence before no_input'),
      hints: z.string().max(500).optional(),
    })
    .optional(),
  branches: z.array(IvrBranchSchema).max(20).optional(),
  otherwise: IvrActionSchema.optional().describe('An answer no branch matches; default: say the prompt again'),
  no_input: IvrActionSchema.optional().describe('Silence; default: hang up'),
  next: IvrActionSchema.optional().describe('After a step without gather; default: hang up'),
});
export type IvrStep = z.infer<typeof IvrStepSchema>;

export const IvrFlowSchema = z.object({
  name: z.string().regex(FLOW_NAME, 'a flow name is 1-64 letters, digits, ".", "_" or "-"'),
  description: z.string().max(500).optional(),
  start: stepId.optional().describe('First step; default the first in steps'),
  steps: z.array(IvrStepSchema).min(1).max(50),
});
export type IvrFlow = z.infer<typeof IvrFlowSchema>;
