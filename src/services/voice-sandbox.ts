/**
 * Sandbox-only voice helpers: a caller rings the account's number, and the sandbox runs its
 * voice URL exactly as Twilio would (signed POST, TwiML walked, gathers fed from `inputs`).
 */
import { ToolFailure } from '../errors/tool-failure.js';

export interface CallerInput {
  digits?: string;
  speech?: string;
  confidence?: number;
  silence?: true;
}

/** The part of the sandbox this service uses (services never import the sandbox). */
export interface InboundCallSimulator {
  simulateInboundCall(fields: { from: string; to?: string; script?: { inputs?: CallerInput[] } }): Promise<{ callSid: string; voiceUrl: string | null; webhookRefused?: string }>;
  scriptCaller(number: string, script: { relay_turns?: RelayTurn[] } | null): void;
}

export type RelayTurn =
  | { say: string }
  | { digits: string }
  | { interrupt_after_tokens: number; say?: string }
  | { silence_seconds: number }
  | { hangup: true };

export class VoiceSandboxService {
  constructor(private readonly simulator: (() => Promise<InboundCallSimulator>) | undefined) {}

  async scriptCaller(input: { to: string; turns: RelayTurn[] }) {
    if (!this.simulator) throw new ToolFailure({ message: 'script_caller only works on the sandbox.', nextStep: 'Start the server without credentials, or with --sandbox.' });
    (await this.simulator()).scriptCaller(input.to, { relay_turns: input.turns });
    return { to: input.to, turns: input.turns.length };
  }

  async simulateInboundCall(input: { from: string; to?: string; inputs?: CallerInput[] }) {
    if (!this.simulator) throw new ToolFailure({ message: 'simulate_inbound_call only works on the sandbox.', nextStep: 'Start the server without credentials, or with --sandbox.' });
    const result = await (await this.simulator()).simulateInboundCall({ from: input.from, ...(input.to && { to: input.to }), script: { inputs: input.inputs ?? [] } });
    return {
      call_sid: result.callSid,
      voice_url: result.voiceUrl,
      ...(result.webhookRefused !== undefined && { webhook_refused: result.webhookRefused }),
      next_step: result.voiceUrl
        ? 'The call is running; get_call shows its status and, for an IVR flow, the path the caller took.'
        : 'The number has no voice URL, so the call was not answered: set one with set_inbound_call_flow.',
    };
  }
}
