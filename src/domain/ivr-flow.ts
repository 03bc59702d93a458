/**
 * Hosted IVR flows: the checker that refuses a flow Twilio or a caller would trip over,
 * the renderer that turns a step (and the answer to it) into TwiML, and the resolver that
 * decides what an answer means. The shape is ivr-flow-schema.ts.
 *
 * Each step is its own TwiML document, fetched from the server's webhook URLs (IvrUrls):
 * a <Gather> posts the answer to urls.answer(), the server resolves it with
 * resolveIvrAnswer() and answers with renderIvrOutcome(). Attempts travel in the URL, so
 * the server keeps no per-call state for the flow.
 */
import type VoiceResponseClass from 'twilio/lib/twiml/VoiceResponse.js';
import type { IvrAction, IvrFlow, IvrStep } from './ivr-flow-schema.js';
import { loadVoiceResponse, sayAttributes, voiceResponseClassSync } from './twiml/build-twiml.js';
import { closestName, validateTwiml } from './twiml/validate-twiml.js';

export interface IvrFlowIssue {
  /** Where in the flow, e.g. "steps[2].branches[0].action.step". */
  path: string;
  message: string;
}

export interface IvrUrls {
  step(stepId: string, attempt: number): string;
  answer(stepId: string, attempt: number): string;
  voicemailDone(stepId: string): string;
}

/**
 * What the flow does next. `action` is one of the flow's actions (or a default the flow
 * left out); for `sms` the server sends the message through the pipeline first, then
 * renders the outcome. `repeat` plays the step again.
 */
export type IvrOutcome = { kind: 'repeat'; step: string; attempt: number } | { kind: 'action'; step: string; action: IvrAction };

export interface IvrAnswer {
  digits?: string;
  speech?: string;
  /** Twilio's speech Confidence (0-1); passed along, not used for matching. */
  confidence?: number;
}

export interface IvrResolution {
  outcome: IvrOutcome;
  matched: 'branch' | 'otherwise' | 'no_input';
  /** Index of the matching branch when matched is 'branch'. */
  branch?: number;
}

/** How often a step is played to a caller whose answers match nothing, before giving up. */
export const IVR_MAX_ATTEMPTS = 3;
export const IVR_GIVE_UP_SAY = 'Sorry, goodbye.';
export const DEFAULT_VOICEMAIL_SECONDS = 120;

const HANG_UP: IvrAction = { type: 'hangup' };

type VoiceResponse = VoiceResponseClass;
type ActionSite = { path: string; action: IvrAction | undefined; defaultsTo: 'hangup' | 'repeat' };

function startOf(flow: IvrFlow): string | undefined {
  return flow.start ?? flow.steps[0]?.id;
}

function findStep(flow: IvrFlow, stepId: string): IvrStep {
  const step = flow.steps.find((s) => s.id === stepId);
  if (!step) throw new Error(`flow '${flow.name}' has no step '${stepId}'`);
  return step;
}

function gatherInput(step: IvrStep): { dtmf: boolean; speech: boolean } {
  const input = step.gather?.input ?? 'dtmf';
  return { dtmf: input.includes('dtmf'), speech: input.includes('speech') };
}

/** Every action a step can take, with its path, including the ones the flow left to defaults. */
function actionSites(step: IvrStep, index: number): ActionSite[] {
  const base = `steps[${index}]`;
  if (!step.gather) return [{ path: `${base}.next`, action: step.next, defaultsTo: 'hangup' }];
  return [
    ...(step.branches ?? []).map((b, j) => ({ path: `${base}.branches[${j}].action`, action: b.action, defaultsTo: 'hangup' as const })),
    { path: `${base}.otherwise`, action: step.otherwise, defaultsTo: 'repeat' },
    { path: `${base}.no_input`, action: step.no_input, defaultsTo: 'hangup' },
  ];
}

/** The step an action moves to, or undefined when it ends the flow. */
function targetOf(action: IvrAction): string | undefined {
  if (action.type === 'goto') return action.step;
  if (action.type === 'sms') return action.then;
  return undefined;
}

/** Lower case, punctuation dropped, whitespace collapsed: how a spoken phrase is compared. */
export function normaliseSpeech(text: string): string {
  return text
    .toLowerCase()
    .replace(/['’]/g, '')
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Twilio ends a <Gather> on '#' (finishOnKey) and may pass it along; it is not part of the answer. */
function normaliseDigits(digits: string): string {
  return digits.trim().replace(/#$/, '');
}

// ---------------------------------------------------------------------------------------
// Checking

/** Every problem with `flow`, each with the path of the field to fix; empty when the flow is sound. */
export function checkIvrFlow(flow: IvrFlow): IvrFlowIssue[] {
  const issues: IvrFlowIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  const ids = new Map<string, number>();
  flow.steps.forEach((step, i) => {
    const first = ids.get(step.id);
    if (first !== undefined) add(`steps[${i}].id`, `duplicate step id '${step.id}' (steps[${first}] has it too)`);
    else ids.set(step.id, i);
  });
  const known = [...ids.keys()];
  const missing = (path: string, id: string) => {
    const guess = closestName(id, known);
    add(path, `no step '${id}'${guess ? `; did you mean '${guess}'?` : ''}`);
  };

  const start = startOf(flow);
  if (flow.start !== undefined && !ids.has(flow.start)) missing('start', flow.start);

  flow.steps.forEach((step, i) => checkStep(step, i, add));

  for (const [i, step] of flow.steps.entries()) {
    for (const site of actionSites(step, i)) {
      if (!site.action) continue;
      const target = targetOf(site.action);
      if (target !== undefined && !ids.has(target)) missing(`${site.path}.${site.action.type === 'goto' ? 'step' : 'then'}`, target);
    }
  }

  if (start !== undefined && ids.has(start)) checkGraph(flow, start, ids, add);
  checkRenderedTwiml(flow, add);
  return issues;
}

function checkStep(step: IvrStep, i: number, add: (path: string, message: string) => void) {
  const base = `steps[${i}]`;
  if (step.say !== undefined && step.play !== undefined) add(base, 'a step has say or play, not both');
  if (step.gather && step.say === undefined && step.play === undefined) add(base, 'a step that gathers an answer needs say or play to ask the question');
  if (!step.gather) {
    for (const field of ['branches', 'otherwise', 'no_input'] as const) {
      if (step[field] !== undefined) add(`${base}.${field}`, `${field} only applies to a step with gather`);
    }
    return;
  }
  if (step.next !== undefined) add(`${base}.next`, 'a step with gather continues through branches, otherwise and no_input, not next');
  const input = gatherInput(step);
  const numDigits = step.gather.num_digits;
  const seenDigits = new Map<string, number>();
  const seenSpeech = new Map<string, number>();
  (step.branches ?? []).forEach((branch, j) => {
    const path = `${base}.branches[${j}]`;
    if (branch.digits !== undefined) {
      const digits = normaliseDigits(branch.digits);
      if (!input.dtmf) add(`${path}.digits`, `can never match: the gather takes ${step.gather?.input} only`);
      else if (digits.includes('#')) add(`${path}.digits`, `'${branch.digits}' can never match: '#' ends the caller's input`);
      else if (digits.length === 0) add(`${path}.digits`, `'${branch.digits}' can never match: '#' alone is no answer (that is no_input)`);
      else if (numDigits !== undefined && digits.length > numDigits)
        add(`${path}.digits`, `'${branch.digits}' can never match: gather.num_digits is ${numDigits}, so input stops after ${numDigits} digit${numDigits === 1 ? '' : 's'}`);
      const earlier = seenDigits.get(digits);
      if (earlier !== undefined) add(`${path}.digits`, `branches[${earlier}] already matches '${digits}'`);
      else seenDigits.set(digits, j);
    }
    if (branch.speech !== undefined) {
      const phrase = normaliseSpeech(branch.speech);
      if (!input.speech) add(`${path}.speech`, `can never match: the gather takes ${step.gather?.input ?? 'dtmf'} only; use input "dtmf speech"`);
      else if (phrase.length === 0) add(`${path}.speech`, 'has no words to match once punctuation is dropped');
      const earlier = seenSpeech.get(phrase);
      if (earlier !== undefined) add(`${path}.speech`, `branches[${earlier}] already matches "${phrase}"`);
      else if (phrase.length > 0) seenSpeech.set(phrase, j);
    }
  });
}

function checkGraph(flow: IvrFlow, start: string, ids: Map<string, number>, add: (path: string, message: string) => void) {
  const edges = new Map<string, string[]>();
  const ends = new Set<string>();
  for (const [i, step] of flow.steps.entries()) {
    if (ids.get(step.id) !== i) continue; // a duplicate id: already reported
    const next: string[] = [];
    for (const site of actionSites(step, i)) {
      if (!site.action) {
        // Defaults end the call: hang up, or repeat up to IVR_MAX_ATTEMPTS and then hang up.
        ends.add(step.id);
        continue;
      }
      const target = targetOf(site.action);
      if (target === undefined) ends.add(step.id);
      else if (ids.has(target)) next.push(target);
    }
    edges.set(step.id, next);
  }

  const reachable = new Set<string>([start]);
  const queue = [start];
  while (queue.length > 0) {
    for (const target of edges.get(queue.shift() as string) ?? []) {
      if (!reachable.has(target)) {
        reachable.add(target);
        queue.push(target);
      }
    }
  }
  for (const [id, i] of ids) if (!reachable.has(id)) add(`steps[${i}]`, `step '${id}' is never reached from the start step '${start}'`);

  // A step can end when it ends itself or moves to a step that can; iterate to a fixpoint.
  const canEnd = new Set(ends);
  for (let changed = true; changed; ) {
    changed = false;
    for (const [id, next] of edges) {
      if (!canEnd.has(id) && next.some((t) => canEnd.has(t))) {
        canEnd.add(id);
        changed = true;
      }
    }
  }
  const reported = new Set<string>();
  for (const [id, i] of ids) {
    if (!reachable.has(id) || canEnd.has(id) || reported.has(id)) continue;
    // Every move from here stays among steps that cannot end: walk until a step repeats.
    const walk: string[] = [];
    let current: string | undefined = id;
    while (current !== undefined && !walk.includes(current)) {
      walk.push(current);
      current = (edges.get(current) ?? [])[0];
    }
    for (const s of walk) reported.add(s);
    // No move at all: its only target is a missing step, reported above.
    if (current === undefined) continue;
    const cycle = walk.slice(walk.indexOf(current));
    const names = [...cycle, current].map((s) => `'${s}'`).join(' → ');
    add(
      `steps[${ids.get(cycle[0] as string) ?? i}]`,
      cycle.length === 1 ? `step '${current}' only goes to itself (${names}): the call never ends` : `steps ${names} only go to each other: the call never ends`,
    );
  }
}

/** Placeholder URLs: the checker only needs documents of the real shape. */
const CHECK_URLS: IvrUrls = {
  step: (stepId, attempt) => `https://ivr.invalid/step/${encodeURIComponent(stepId)}?attempt=${attempt}`,
  answer: (stepId, attempt) => `https://ivr.invalid/answer/${encodeURIComponent(stepId)}?attempt=${attempt}`,
  voicemailDone: (stepId) => `https://ivr.invalid/voicemail/${encodeURIComponent(stepId)}`,
};

function checkRenderedTwiml(flow: IvrFlow, add: (path: string, message: string) => void) {
  const VoiceResponse = voiceResponseClassSync();
  for (const [i, step] of flow.steps.entries()) {
    const documents: { path: string; xml: string }[] = [];
    const prompt = new VoiceResponse();
    appendStep(prompt, step, CHECK_URLS, 1);
    documents.push({ path: `steps[${i}]`, xml: prompt.toString() });
    for (const site of actionSites(step, i)) {
      if (!site.action || !('say' in site.action) || site.action.say === undefined) continue;
      const outcome = new VoiceResponse();
      appendAction(outcome, step, site.action, CHECK_URLS);
      documents.push({ path: site.path, xml: outcome.toString() });
    }
    for (const { path, xml } of documents) {
      for (const issue of validateTwiml(xml)) add(fieldOf(path, issue.message), `Twilio would refuse the rendered TwiML: ${issue.message}`);
    }
  }
}

/** The flow field a TwiML issue comes from, so the message points at what to change. */
function fieldOf(path: string, message: string): string {
  if (!/^steps\[\d+\]$/.test(path)) return `${path}.say`;
  if (/ voice="/.test(message)) return `${path}.voice`;
  if (/ language="/.test(message)) return `${path}.language`;
  if (/^<Say>/.test(message)) return `${path}.say`;
  if (/^<Play>/.test(message)) return `${path}.play`;
  if (/^<Gather /.test(message)) return `${path}.gather`;
  return path;
}

// ---------------------------------------------------------------------------------------
// Rendering (synchronous builders on a VoiceResponse; the exported functions load the SDK lazily)

function appendPrompt(target: VoiceResponse | VoiceResponseClass.Gather, step: IvrStep) {
  if (step.say !== undefined) target.say(sayAttributes(step.voice, step.language), step.say);
  else if (step.play !== undefined) target.play(step.play);
}

function appendStep(response: VoiceResponse, step: IvrStep, urls: IvrUrls, attempt: number) {
  if (!step.gather) {
    appendPrompt(response, step);
    appendAction(response, step, step.next ?? HANG_UP, urls);
    return;
  }
  const { gather: g } = step;
  const input = gatherInput(step);
  const gather = response.gather({
    input: (g.input ?? 'dtmf').split(' ') as ('dtmf' | 'speech')[],
    ...(g.num_digits !== undefined ? { numDigits: g.num_digits } : {}),
    timeout: g.timeout ?? 5,
    ...(g.hints !== undefined && input.speech ? { hints: g.hints } : {}),
    // Speech is recognised in the language the step speaks.
    ...(input.speech && step.language !== undefined ? { language: step.language as NonNullable<VoiceResponseClass.GatherAttributes['language']> } : {}),
    action: urls.answer(step.id, attempt),
    method: 'POST',
    // Silence posts too, so no_input is decided by the flow, not by falling off the document.
    actionOnEmptyResult: true,
  });
  appendPrompt(gather, step);
}

function appendAction(response: VoiceResponse, step: IvrStep, action: IvrAction, urls: IvrUrls) {
  const say = (text: string | undefined) => {
    if (text !== undefined) response.say(sayAttributes(step.voice, step.language), text);
  };
  switch (action.type) {
    case 'goto':
      response.redirect({ method: 'POST' }, urls.step(action.step, 1));
      return;
    case 'transfer':
      say(action.say);
      response.dial(action.to);
      return;
    case 'voicemail':
      say(action.say);
      response.record({
        maxLength: action.max_seconds ?? DEFAULT_VOICEMAIL_SECONDS,
        action: urls.voicemailDone(step.id),
        method: 'POST',
        playBeep: true,
        ...(action.transcribe ? { transcribe: true } : {}),
      });
      // Twilio goes on past <Record> only after an empty recording.
      response.hangup();
      return;
    case 'hangup':
      say(action.say);
      response.hangup();
      return;
    case 'sms':
      // The server has sent the SMS by now; the call goes on.
      if (action.then !== undefined) response.redirect({ method: 'POST' }, urls.step(action.then, 1));
      else response.hangup();
      return;
  }
}

/** The TwiML document for one step: its prompt, inside a <Gather> when it asks for an answer. */
export async function renderIvrStep(flow: IvrFlow, stepId: string, urls: IvrUrls, attempt: number): Promise<string> {
  const step = findStep(flow, stepId);
  const VoiceResponse = await loadVoiceResponse();
  const response = new VoiceResponse();
  appendStep(response, step, urls, attempt);
  return response.toString();
}

/** The TwiML for what happens after an answer (or a step without gather). */
export async function renderIvrOutcome(flow: IvrFlow, outcome: IvrOutcome, urls: IvrUrls): Promise<string> {
  const step = findStep(flow, outcome.step);
  const VoiceResponse = await loadVoiceResponse();
  const response = new VoiceResponse();
  if (outcome.kind === 'repeat') response.redirect({ method: 'POST' }, urls.step(step.id, outcome.attempt));
  else appendAction(response, step, outcome.action, urls);
  return response.toString();
}

// ---------------------------------------------------------------------------------------
// Answers

function containsWords(said: string, phrase: string): boolean {
  return phrase.length > 0 && ` ${said} `.includes(` ${phrase} `);
}

/**
 * What the caller's answer to `stepId` (played for the `attempt`-th time) leads to.
 * Digits match a branch exactly (a trailing '#' dropped); speech matches when the phrase
 * said contains the branch's phrase as whole words. The first matching branch wins.
 */
export function resolveIvrAnswer(flow: IvrFlow, stepId: string, answer: IvrAnswer, attempt: number): IvrResolution {
  const step = findStep(flow, stepId);
  const digits = normaliseDigits(answer.digits ?? '');
  const said = normaliseSpeech(answer.speech ?? '');
  const action = (a: IvrAction): IvrOutcome => ({ kind: 'action', step: step.id, action: a });

  if (!step.gather) return { outcome: action(step.next ?? HANG_UP), matched: 'no_input' };
  if (digits.length === 0 && said.length === 0) return { outcome: action(step.no_input ?? HANG_UP), matched: 'no_input' };

  const branches = step.branches ?? [];
  for (const [index, branch] of branches.entries()) {
    const byDigits = branch.digits !== undefined && digits.length > 0 && normaliseDigits(branch.digits) === digits;
    const bySpeech = branch.speech !== undefined && said.length > 0 && containsWords(said, normaliseSpeech(branch.speech));
    if (byDigits || bySpeech) return { outcome: action(branch.action), matched: 'branch', branch: index };
  }
  if (step.otherwise) return { outcome: action(step.otherwise), matched: 'otherwise' };
  if (attempt < IVR_MAX_ATTEMPTS) return { outcome: { kind: 'repeat', step: step.id, attempt: attempt + 1 }, matched: 'otherwise' };
  return { outcome: action({ type: 'hangup', say: IVR_GIVE_UP_SAY }), matched: 'otherwise' };
}
