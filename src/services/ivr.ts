/**
 * Hosted IVR flows: stored, checked when stored, served step by step as TwiML on this
 * server's receiver (`/webhooks/twilio/voice/…`, signature-checked like every webhook), with
 * every caller answer recorded as an event of the call (get_call shows the path).
 *
 * An "sms" action texts the caller through the send pipeline like any other send (opt-outs,
 * policy, reservation): the caller asked for it during the call, so it counts as
 * time-critical (quiet hours do not hold it) and the person is not a first contact — every
 * other guard applies, and a refusal is said to the caller and recorded, never skipped.
 */
import type { IvrOutcome } from '../domain/ivr-flow.js';
import type { IvrFlow } from '../domain/ivr-flow-schema.js';
import { ToolFailure } from '../errors/tool-failure.js';
import type { TwilioGateway } from '../gateway/twilio-gateway.js';
import type { CallEvent, Store } from '../store/store.js';
import { lazy } from '../util/lazy.js';
import { log } from '../util/log.js';
import { VOICE_ROUTE_PREFIX, type VoiceRoute } from '../webhooks/voice-routes.js';
import type { IvrEntry } from './voice.js';

const flowLogic = lazy(() => import('../domain/ivr-flow.js'));


/** Sends the caller a text through the send pipeline; resolves to the message SID. */
export type CallerTexter = (to: string, from: string, body: string) => Promise<string>;

const SAY_SORRY = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Sorry, this number cannot take your call right now. Goodbye.</Say><Hangup/></Response>';

function flowIssues(issues: Array<{ path: string; message: string }>): never {
  throw new ToolFailure({
    message: `The flow was not stored: ${issues.slice(0, 8).map((i) => `${i.path}: ${i.message}`).join('; ')}${issues.length > 8 ? `; and ${issues.length - 8} more` : ''}.`,
    nextStep: 'Fix these and call create_ivr_flow again; every branch must lead to an existing step and every path must end (transfer, voicemail, hangup).',
    extra: { rule: 'ivr_flow', issues },
  });
}

export class IvrService implements IvrEntry {
  constructor(
    private readonly store: () => Promise<Store>,
    private readonly gateway: TwilioGateway,
    /** The receiver's public base (…/webhooks/twilio), when Twilio can reach it. */
    private readonly receiverBase: () => Promise<string | undefined>,
    private readonly defaultNumber: string | undefined,
    private readonly textCaller: CallerTexter,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private async base(): Promise<string> {
    const base = await this.receiverBase();
    if (!base) {
      throw new ToolFailure({
        message: "This server's webhook receiver has no URL Twilio can reach, so Twilio cannot fetch the flow's steps.",
        nextStep: 'Set TWILIO_WEBHOOK_URL to the public https URL of this server (and --webhook-port with stdio), then try again.',
      });
    }
    return base;
  }

  private urls(base: string, flow: string) {
    const root = `${base}${VOICE_ROUTE_PREFIX}/ivr/${flow}`;
    return {
      step: (step: string, attempt: number) => `${root}/${step}?attempt=${attempt}`,
      answer: (step: string, attempt: number) => `${root}/${step}/answer?attempt=${attempt}`,
      voicemailDone: (step: string) => `${root}/${step}/voicemail`,
    };
  }

  private async requireFlow(name: string): Promise<IvrFlow> {
    const stored = await (await this.store()).getIvrFlow(name);
    if (!stored) {
      const names = (await (await this.store()).listIvrFlows()).map((f) => f.name);
      throw new ToolFailure({
        message: `There is no IVR flow named "${name}".`,
        nextStep: names.length > 0 ? `Stored flows: ${names.slice(0, 10).join(', ')}. Or make one with create_ivr_flow.` : 'Make one with create_ivr_flow first.',
      });
    }
    return stored.definition as IvrFlow;
  }

  private summary<E extends object>(flow: IvrFlow, extra: E = {} as E) {
    return {
      name: flow.name,
      ...(flow.description && { description: flow.description }),
      start: flow.start ?? flow.steps[0]!.id,
      steps: flow.steps.map((s) => s.id),
      ...extra,
    };
  }

  async createFlow(flow: IvrFlow) {
    const { checkIvrFlow } = await flowLogic();
    const issues = checkIvrFlow(flow);
    if (issues.length > 0) flowIssues(issues);
    const store = await this.store();
    const created = await store.saveIvrFlow(flow.name, flow, this.now());
    const numbers = (await store.listInboundCallFlows(flow.name)).map((n) => n.number);
    return this.summary(flow, {
      created,
      answers_numbers: numbers,
      next_step: numbers.length > 0 ? 'Live now on those numbers.' : 'Use it with make_call (ivr_flow) or answer a number with set_inbound_call_flow.',
    });
  }

  async listFlows() {
    const store = await this.store();
    const [uses, flows] = await Promise.all([store.listInboundCallFlows(), store.listIvrFlows()]);
    return {
      flows: flows.map((f) => {
        const flow = f.definition as IvrFlow;
        return { ...this.summary(flow), updated_at: f.updatedAt.toISOString(), answers_numbers: uses.filter((u) => u.flowName === f.name).map((u) => u.number) };
      }),
    };
  }

  async getFlow(name: string) {
    const flow = await this.requireFlow(name);
    const numbers = (await (await this.store()).listInboundCallFlows(name)).map((n) => n.number);
    return { ...this.summary(flow), answers_numbers: numbers, definition: flow };
  }

  async deleteFlow(name: string) {
    await this.requireFlow(name);
    const store = await this.store();
    const numbers = (await store.listInboundCallFlows(name)).map((n) => n.number);
    await store.deleteIvrFlow(name);
    return {
      name,
      deleted: true as const,
      numbers_left_without_flow: numbers,
      ...(numbers.length > 0 && { note: 'Calls to those numbers now hear "cannot take your call"; answer them with another flow via set_inbound_call_flow.' }),
    };
  }

  /** Answers the account's number with `flow` (null: stop answering with a flow). */
  async setInboundCallFlow(input: { flow: string | null; phone_number?: string }) {
    const phoneNumber = input.phone_number ?? this.defaultNumber;
    if (!phoneNumber) throw new ToolFailure({ message: 'Which number? No phone_number given and TWILIO_PHONE_NUMBER is not set.', nextStep: 'Pass phone_number (E.164).' });
    if (input.flow !== null) await this.requireFlow(input.flow);
    const number = await this.gateway.findIncomingNumber(phoneNumber);
    if (!number) throw new ToolFailure({ message: `${phoneNumber} is not a number of this account.`, twilioCode: 20404, nextStep: 'Use one of your Twilio numbers.' });
    const store = await this.store();
    if (input.flow === null) {
      await store.setInboundCallFlow(number.phoneNumber, null, this.now());
      return { phone_number: number.phoneNumber, flow: null, voice_url: number.voiceUrl, note: 'No flow answers this number now; its voice URL was left as it is.' };
    }
    const voiceUrl = `${await this.base()}${VOICE_ROUTE_PREFIX}/inbound`;
    const updated = number.voiceUrl === voiceUrl ? number : await this.gateway.updateIncomingNumber(number.sid, { voiceUrl });
    await store.setInboundCallFlow(number.phoneNumber, input.flow, this.now());
    return {
      phone_number: updated.phoneNumber,
      flow: input.flow,
      voice_url: updated.voiceUrl,
      previous_voice_url: number.voiceUrl,
      note: `Calls to ${updated.phoneNumber} are answered by flow "${input.flow}"; get_call shows each caller's path.`,
    };
  }

  async startUrl(name: string): Promise<{ url: string; start: string }> {
    const flow = await this.requireFlow(name);
    const start = flow.start ?? flow.steps[0]!.id;
    return { url: this.urls(await this.base(), name).step(start, 1), start };
  }

  // ---- the receiver side: Twilio asks, we answer TwiML -------------------------------

  private async record(event: Omit<CallEvent, 'at' | 'digits' | 'speech' | 'confidence' | 'detail'> & Partial<Pick<CallEvent, 'digits' | 'speech' | 'confidence' | 'detail'>>): Promise<void> {
    try {
      await (await this.store()).appendCallEvent({ digits: null, speech: null, confidence: null, detail: null, ...event, at: this.now() });
    } catch (error) {
      // The caller is on the line: a bookkeeping failure must not drop the call.
      log.error(`could not record call event for ${event.callSid}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** TwiML for one voice webhook. `params` are Twilio's (CallSid, From, To, Digits, SpeechResult, …). */
  async answerVoiceWebhook(route: VoiceRoute, params: Record<string, string>): Promise<string> {
    const callSid = params.CallSid ?? 'unknown';
    const logic = await flowLogic();
    try {
      if (route.kind === 'inbound') {
        const to = params.To ?? params.Called ?? '';
        const name = await (await this.store()).getInboundCallFlow(to);
        const stored = name ? await (await this.store()).getIvrFlow(name) : undefined;
        if (!name || !stored) {
          await this.record({ callSid, flowName: name ?? null, step: null, kind: 'error', detail: name ? `flow "${name}" no longer exists` : `no flow answers ${to}` });
          return SAY_SORRY;
        }
        const flow = stored.definition as IvrFlow;
        const start = flow.start ?? flow.steps[0]!.id;
        await this.record({ callSid, flowName: name, step: start, kind: 'prompt', detail: `inbound call from ${params.From ?? 'unknown'}` });
        return await logic.renderIvrStep(flow, start, this.urls(await this.base(), name), 1);
      }
      const flow = await this.requireFlow(route.flow);
      const urls = this.urls(await this.base(), route.flow);
      if (route.kind === 'step') {
        await this.record({ callSid, flowName: route.flow, step: route.step, kind: route.attempt > 1 ? 'repeat' : 'prompt', detail: route.attempt > 1 ? `attempt ${route.attempt}` : null });
        return await logic.renderIvrStep(flow, route.step, urls, route.attempt);
      }
      if (route.kind === 'voicemail') {
        const seconds = params.RecordingDuration ? `${params.RecordingDuration} s` : 'no audio';
        await this.record({ callSid, flowName: route.flow, step: route.step, kind: 'voicemail_recorded', detail: params.RecordingSid ? `${params.RecordingSid} (${seconds})` : seconds });
        return '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Thank you. Goodbye.</Say><Hangup/></Response>';
      }
      const confidence = params.Confidence !== undefined && params.Confidence !== '' ? Number(params.Confidence) : undefined;
      const answer = {
        ...(params.Digits && params.Digits !== 'hangup' && { digits: params.Digits }),
        ...(params.SpeechResult && { speech: params.SpeechResult }),
        ...(confidence !== undefined && Number.isFinite(confidence) && { confidence }),
      };
      const resolved = logic.resolveIvrAnswer(flow, route.step, answer, route.attempt);
      const outcome = resolved.outcome;
      await this.record({
        callSid,
        flowName: route.flow,
        step: route.step,
        kind: resolved.matched === 'no_input' ? 'no_input' : 'answer',
        digits: answer.digits ?? null,
        speech: answer.speech ?? null,
        confidence: answer.confidence ?? null,
        detail: `${resolved.matched}${resolved.branch !== undefined ? ` #${resolved.branch}` : ''} → ${describeOutcome(outcome)}`,
      });
      if (outcome.kind === 'action') {
        const action = outcome.action;
        if (action.type === 'sms') return await this.smsThenContinue(flow, route, outcome, action.body, params, urls);
        if (action.type !== 'goto') {
          await this.record({ callSid, flowName: route.flow, step: route.step, kind: action.type, detail: action.type === 'transfer' ? `to ${action.to}` : null });
        }
      }
      return await logic.renderIvrOutcome(flow, outcome, urls);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      await this.record({ callSid, flowName: 'flow' in route ? route.flow : null, step: 'step' in route ? route.step : null, kind: 'error', detail: why });
      log.warn(`IVR webhook for ${callSid}: ${why}`);
      return SAY_SORRY;
    }
  }

  private async smsThenContinue(
    flow: IvrFlow,
    route: Extract<VoiceRoute, { kind: 'answer' }>,
    outcome: IvrOutcome,
    body: string,
    params: Record<string, string>,
    urls: ReturnType<IvrService['urls']>,
  ): Promise<string> {
    const logic = await flowLogic();
    const callSid = params.CallSid ?? 'unknown';
    // Outbound calls: the person is To; inbound calls: the person is From.
    const inbound = (params.Direction ?? 'inbound') === 'inbound';
    const caller = inbound ? params.From : params.To;
    const ours = inbound ? params.To : params.From;
    let detail: string;
    let sent = false;
    if (!caller || !ours) {
      detail = 'not sent: the caller number is unknown';
    } else {
      try {
        detail = `sent ${await this.textCaller(caller, ours, body)}`;
        sent = true;
      } catch (error) {
        detail = `not sent: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    await this.record({ callSid, flowName: route.flow, step: route.step, kind: 'sms', detail });
    const next = await logic.renderIvrOutcome(flow, outcome, urls);
    if (sent) return next;
    // Tell the caller rather than pretend: insert an apology before whatever comes next.
    return next.replace('<Response>', '<Response><Say>Sorry, we could not send you a text message.</Say>');
  }
}

function describeOutcome(outcome: IvrOutcome): string {
  if (outcome.kind === 'repeat') return `repeat (attempt ${outcome.attempt})`;
  const action = outcome.action;
  switch (action.type) {
    case 'goto':
      return `step ${action.step}`;
    case 'transfer':
      return `transfer to ${action.to}`;
    case 'sms':
      return `text the caller${action.then ? `, then step ${action.then}` : ', then hang up'}`;
    default:
      return action.type;
  }
}
