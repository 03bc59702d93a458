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

export interface CallerScript {
  answer?: CallerAnswer;
  inputs?: CallerInput[];
  hangup_after_seconds?: number;
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

/** Reads a call's inputs in order; each verb that listens takes the next one. */
export class CallerInputs {
  private next = 0;

  constructor(private readonly inputs: readonly CallerInput[] = []) {}

  /** The next input, or undefined when the script has said everything (silence from then on). */
  take(): CallerInput | undefined {
    const input = this.inputs[this.next];
    if (input !== undefined) this.next += 1;
    return input;
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
    if (!['answer', 'inputs', 'hangup_after_seconds'].includes(key)) throw invalid(`unknown field ${key}`);
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
  return script;
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
