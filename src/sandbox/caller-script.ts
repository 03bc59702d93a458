/**
 * The person (or machine) at the other end of a sandbox call, and what they do.
 *
 * A script is set per number (`handle.scriptCaller(number, script)`): it is the behaviour
 * of the callee of an outbound call to that number (and of a `<Dial><Number>` to it), and
 * the default behaviour of the caller of an inbound call from it.
 *
 * OUTCOME RULES (also in src/sandbox/README.md). A script's `answer` decides; without a
 * script (or without `answer`) the last four digits of the called address decide:
 *   …4001 → busy      (the line is busy: initiated → busy, never rings)
 *   …4002 → no-answer (rings until the call's Timeout, then no-answer)
 *   …4003 → failed    (the carrier refuses it: initiated → failed)
 *   …4004 → machine   (an answering machine picks up)
 *   anything else → a human answers (after `ringSeconds` of ringing; a Timeout shorter
 *   than that is a no-answer).
 *
 * INPUTS. Each `<Gather>` consumes the next input: `digits` (DTMF) or `speech` (with
 * `confidence`, default 0.9); `silence: true` or no input left means the Gather times out.
 * Each `<Record>` consumes the next input as what the caller says: `speech` is the
 * transcription text, `talk_seconds` the length (default 5); `silence` records nothing.
 * `hangup_after_seconds`: the caller hangs up that many simulated seconds after answering.
 *
 * RELAY TURNS. `relay_turns` is what the caller does when the call reaches
 * `<Connect><ConversationRelay>` (relay-client.ts): say something, press keys, interrupt
 * the agent after some tokens, stay silent, hang up. Read in order across every relay
 * session of the call, like `inputs`.
 */
import { TwilioError } from './wire.js';

export interface CallerInput {
  digits?: string;
  speech?: string;
  confidence?: number;
  silence?: true;
  talk_seconds?: number;
}

export type CallerAnswer = 'human' | 'machine' | 'busy' | 'no-answer' | 'failed';

/**
 * One turn of the caller in a ConversationRelay session (the order and the waits are
 * relay-client.ts's turn-taking rule):
 * - `say`: the caller speaks; the agent gets it as a `prompt`.
 * - `digits`: the caller presses keys; one `dtmf` message per key (with dtmfDetection).
 * - `interrupt_after_tokens` (+ optional `say`): once that many `text` tokens of the
 *   agent's reply have been heard, the caller talks over it (`interrupt`), then says `say`.
 * - `silence_seconds`: the caller says nothing for that many simulated seconds.
 * - `hangup`: the caller hangs up (the socket closes with 1000, the call completes).
 */
export type RelayTurn =
  | { say: string }
  | { digits: string }
  | { interrupt_after_tokens: number; say?: string }
  | { silence_seconds: number }
  | { hangup: true };

export interface CallerScript {
  answer?: CallerAnswer;
  inputs?: CallerInput[];
  hangup_after_seconds?: number;
  relay_turns?: RelayTurn[];
}

export const DEFAULT_TALK_SECONDS = 5;
export const DEFAULT_CONFIDENCE = 0.9;

const BY_LAST_FOUR: Record<string, CallerAnswer> = {
  '4001': 'busy',
  '4002': 'no-answer',
  '4003': 'failed',
  '4004': 'machine',
};

/** Who picks up at `address`: the script's `answer`, else the last-four-digits rule. */
export function answerOf(address: string, script: CallerScript | undefined): CallerAnswer {
  if (script?.answer) return script.answer;
  const digits = address.replace(/\D/g, '');
  return BY_LAST_FOUR[digits.slice(-4)] ?? 'human';
}

/** The scripts set per number, for the sandbox's lifetime. */
export class CallerScripts {
  private readonly byNumber = new Map<string, CallerScript>();

  set(number: string, script: CallerScript | null): void {
    if (script === null) this.byNumber.delete(number);
    else this.byNumber.set(number, parseCallerScript(script));
  }

  get(number: string): CallerScript | undefined {
    return this.byNumber.get(number);
  }
}

/** Reads a call's inputs (and relay turns) in order; each verb that listens takes the next one. */
export class CallerInputs {
  private next = 0;
  private nextTurn = 0;
  private readonly relayTurns: readonly RelayTurn[];

  constructor(
    private readonly inputs: readonly CallerInput[] = [],
    relayTurns?: readonly RelayTurn[],
  ) {
    this.relayTurns = relayTurns ?? [];
  }

  /** The next input, or undefined when the script has said everything (silence from then on). */
  take(): CallerInput | undefined {
    const input = this.inputs[this.next];
    if (input !== undefined) this.next += 1;
    return input;
  }

  /** The caller's next relay turn, or undefined when they have nothing more to do. */
  takeRelayTurn(): RelayTurn | undefined {
    const turn = this.relayTurns[this.nextTurn];
    if (turn !== undefined) this.nextTurn += 1;
    return turn;
  }
}

const ANSWERS = new Set<CallerAnswer>(['human', 'machine', 'busy', 'no-answer', 'failed']);

/**
 * Checks a script given over JSON (admin route) or by an embedder, whole: a bad one is
 * refused rather than half-applied, so a test never runs against a script it did not mean.
 */
export function parseCallerScript(value: unknown): CallerScript {
  const invalid = (why: string) => new TwilioError(400, 20001, `Invalid caller script: ${why}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('expected an object');
  const spec = value as Record<string, unknown>;
  for (const key of Object.keys(spec)) {
    if (!['answer', 'inputs', 'hangup_after_seconds', 'relay_turns'].includes(key)) throw invalid(`unknown field ${key}`);
  }
  const script: CallerScript = {};
  if (spec.answer !== undefined) {
    if (typeof spec.answer !== 'string' || !ANSWERS.has(spec.answer as CallerAnswer)) throw invalid(`answer must be one of ${[...ANSWERS].join(', ')}`);
    script.answer = spec.answer as CallerAnswer;
  }
  if (spec.hangup_after_seconds !== undefined) {
    if (typeof spec.hangup_after_seconds !== 'number' || !(spec.hangup_after_seconds >= 0)) throw invalid('hangup_after_seconds must be a non-negative number');
    script.hangup_after_seconds = spec.hangup_after_seconds;
  }
  if (spec.inputs !== undefined) {
    if (!Array.isArray(spec.inputs)) throw invalid('inputs must be an array');
    script.inputs = spec.inputs.map((raw, i) => parseInput(raw, i, invalid));
  }
  if (spec.relay_turns !== undefined) {
    if (!Array.isArray(spec.relay_turns)) throw invalid('relay_turns must be an array');
    script.relay_turns = spec.relay_turns.map((raw, i) => parseRelayTurn(raw, i, invalid));
  }
  return script;
}

const TURN_KINDS = ['say', 'digits', 'interrupt_after_tokens', 'silence_seconds', 'hangup'] as const;

/** Exactly one kind per turn (`say` may also ride on an interrupt): an ambiguous turn is refused. */
function parseRelayTurn(raw: unknown, i: number, invalid: (why: string) => Error): RelayTurn {
  const where = `relay_turns[${i}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`${where} must be an object`);
  const spec = raw as Record<string, unknown>;
  for (const key of Object.keys(spec)) {
    if (!(TURN_KINDS as readonly string[]).includes(key)) throw invalid(`${where} has an unknown field ${key}`);
  }
  const kinds = TURN_KINDS.filter((k) => spec[k] !== undefined);
  const say = (): string => {
    if (typeof spec.say !== 'string' || spec.say.trim() === '') throw invalid(`${where}.say must be a non-empty string`);
    return spec.say;
  };
  if (kinds.includes('interrupt_after_tokens')) {
    if (kinds.some((k) => k !== 'interrupt_after_tokens' && k !== 'say')) throw invalid(`${where}: interrupt_after_tokens goes with say only`);
    const n = spec.interrupt_after_tokens;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw invalid(`${where}.interrupt_after_tokens must be a positive integer`);
    return spec.say === undefined ? { interrupt_after_tokens: n } : { interrupt_after_tokens: n, say: say() };
  }
  if (kinds.length !== 1) throw invalid(`${where} must have exactly one of ${TURN_KINDS.join(', ')}`);
  switch (kinds[0]!) {
    case 'say':
      return { say: say() };
    case 'digits':
      if (typeof spec.digits !== 'string' || !/^[0-9*#]+$/.test(spec.digits)) throw invalid(`${where}.digits must be DTMF keys (0-9, *, #)`);
      return { digits: spec.digits };
    case 'silence_seconds': {
      const s = spec.silence_seconds;
      if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) throw invalid(`${where}.silence_seconds must be a non-negative number`);
      return { silence_seconds: s };
    }
    default:
      if (spec.hangup !== true) throw invalid(`${where}.hangup must be true when given`);
      return { hangup: true };
  }
}

function parseInput(raw: unknown, i: number, invalid: (why: string) => Error): CallerInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`inputs[${i}] must be an object`);
  const spec = raw as Record<string, unknown>;
  const input: CallerInput = {};
  for (const key of Object.keys(spec)) {
    if (!['digits', 'speech', 'confidence', 'silence', 'talk_seconds'].includes(key)) throw invalid(`inputs[${i}] has an unknown field ${key}`);
  }
  if (spec.digits !== undefined) {
    if (typeof spec.digits !== 'string' || !/^[0-9*#w]*$/.test(spec.digits)) throw invalid(`inputs[${i}].digits must be DTMF keys (0-9, *, #)`);
    input.digits = spec.digits;
  }
  if (spec.speech !== undefined) {
    if (typeof spec.speech !== 'string') throw invalid(`inputs[${i}].speech must be a string`);
    input.speech = spec.speech;
  }
  if (spec.confidence !== undefined) {
    if (typeof spec.confidence !== 'number' || spec.confidence < 0 || spec.confidence > 1) throw invalid(`inputs[${i}].confidence must be between 0 and 1`);
    input.confidence = spec.confidence;
  }
  if (spec.silence !== undefined) {
    if (spec.silence !== true) throw invalid(`inputs[${i}].silence must be true when given`);
    input.silence = true;
  }
  if (spec.talk_seconds !== undefined) {
    if (typeof spec.talk_seconds !== 'number' || !(spec.talk_seconds >= 0)) throw invalid(`inputs[${i}].talk_seconds must be a non-negative number`);
    input.talk_seconds = spec.talk_seconds;
  }
  return input;
}
