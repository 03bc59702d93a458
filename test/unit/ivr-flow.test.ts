import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';
import {
  checkIvrFlow,
  IVR_GIVE_UP_SAY,
  renderIvrOutcome,
  renderIvrStep,
  resolveIvrAnswer,
  type IvrOutcome,
  type IvrUrls,
} from '../../src/domain/ivr-flow.js';
import { IvrFlowSchema, type IvrFlow } from '../../src/domain/ivr-flow-schema.js';
import { validateTwiml } from '../../src/domain/twiml/validate-twiml.js';

const urls: IvrUrls = {
  step: (step, attempt) => `https://example.test/webhooks/twilio/voice/ivr/shop/${step}?attempt=${attempt}`,
  answer: (step, attempt) => `https://example.test/webhooks/twilio/voice/ivr/shop/${step}/answer?attempt=${attempt}`,
  voicemailDone: (step) => `https://example.test/webhooks/twilio/voice/ivr/shop/${step}/voicemail`,
};

function flow(input: unknown): IvrFlow {
  return IvrFlowSchema.parse(input);
}

const good = () =>
  flow({
    name: 'shop',
    steps: [
      {
        id: 'menu',
        say: 'Press 1 or say sales. Press 2 or say billing.',
        voice: 'Polly.Joanna-Neural',
        language: 'en-US',
        gather: { input: 'dtmf speech', num_digits: 1, hints: 'sales, billing' },
        branches: [
          { digits: '1', speech: 'sales', action: { type: 'transfer', to: '+14155550100', say: 'Connecting you to sales.' } },
          { digits: '2', speech: 'billing', action: { type: 'goto', step: 'billing' } },
          { digits: '9', action: { type: 'sms', body: 'Our hours: 9-5', then: 'menu' } },
        ],
        no_input: { type: 'goto', step: 'bye' },
      },
      {
        id: 'billing',
        play: 'https://example.test/billing.mp3',
        gather: { input: 'dtmf', num_digits: 2 },
        branches: [{ digits: '11', action: { type: 'voicemail', say: 'Leave a message.', max_seconds: 60, transcribe: true } }],
        otherwise: { type: 'goto', step: 'menu' },
      },
      { id: 'bye', say: 'Goodbye.', next: { type: 'hangup' } },
    ],
  });

/** Elements of a TwiML document as [name, attributes, text], parsed by saxes. */
function elements(xml: string): { name: string; attributes: Record<string, string>; text: string }[] {
  const parser = new SaxesParser();
  const out: { name: string; attributes: Record<string, string>; text: string }[] = [];
  const open: { text: string }[] = [];
  parser.on('opentag', (tag) => {
    const element = { name: tag.name, attributes: { ...(tag.attributes as Record<string, string>) }, text: '' };
    out.push(element);
    open.push(element);
  });
  parser.on('text', (text) => {
    const top = open.at(-1);
    if (top) top.text += text;
  });
  parser.on('closetag', () => void open.pop());
  parser.write(xml).close();
  return out;
}

function paths(f: IvrFlow): string[] {
  return checkIvrFlow(f).map((i) => i.path);
}

describe('checkIvrFlow', () => {
  it('passes a sound flow', () => {
    expect(checkIvrFlow(good())).toEqual([]);
  });

  it('refuses duplicate step ids', () => {
    const f = good();
    f.steps.push({ ...f.steps[2]!, say: 'Again.' });
    expect(checkIvrFlow(f)).toContainEqual({ path: 'steps[3].id', message: "duplicate step id 'bye' (steps[2] has it too)" });
  });

  it('refuses a start step that does not exist', () => {
    const f = { ...good(), start: 'menux' };
    expect(checkIvrFlow(f)).toContainEqual({ path: 'start', message: "no step 'menux'; did you mean 'menu'?" });
  });

  it('names a goto or sms target that does not exist, with a did-you-mean', () => {
    const f = good();
    f.steps[0]!.branches![1]!.action = { type: 'goto', step: 'biling' };
    f.steps[0]!.branches![2]!.action = { type: 'sms', body: 'x', then: 'nowhere' };
    const issues = checkIvrFlow(f);
    expect(issues).toContainEqual({ path: 'steps[0].branches[1].action.step', message: "no step 'biling'; did you mean 'billing'?" });
    expect(issues).toContainEqual({ path: 'steps[0].branches[2].action.then', message: "no step 'nowhere'" });
  });

  it('refuses say and play together, and a gather with no prompt', () => {
    const f = good();
    f.steps[1]!.say = 'Billing.';
    expect(checkIvrFlow(f)).toContainEqual({ path: 'steps[1]', message: 'a step has say or play, not both' });
    const g = good();
    delete g.steps[1]!.play;
    expect(paths(g)).toContain('steps[1]');
  });

  it('allows branches/otherwise/no_input only with gather, next only without', () => {
    const f = good();
    f.steps[2]!.otherwise = { type: 'hangup' };
    f.steps[0]!.next = { type: 'hangup' };
    expect(paths(f)).toEqual(expect.arrayContaining(['steps[2].otherwise', 'steps[0].next']));
  });

  it('refuses digits longer than num_digits, # inside digits, and duplicate digits', () => {
    const f = good();
    f.steps[0]!.branches![0]!.digits = '12';
    f.steps[0]!.branches![2]!.digits = '2';
    const issues = checkIvrFlow(f);
    expect(issues).toContainEqual({
      path: 'steps[0].branches[0].digits',
      message: "'12' can never match: gather.num_digits is 1, so input stops after 1 digit",
    });
    expect(issues).toContainEqual({ path: 'steps[0].branches[2].digits', message: "branches[1] already matches '2'" });
    const g = good();
    g.steps[1]!.branches![0]!.digits = '1#';
    expect(checkIvrFlow(g)).toEqual([]); // a trailing # is the finish key
    g.steps[1]!.branches![0]!.digits = '#1';
    expect(paths(g)).toEqual(['steps[1].branches[0].digits']);
  });

  it('refuses speech branches on a dtmf-only gather and digits on a speech-only one', () => {
    const f = good();
    f.steps[1]!.branches!.push({ speech: 'agent', action: { type: 'hangup' } });
    expect(checkIvrFlow(f)).toContainEqual({
      path: 'steps[1].branches[1].speech',
      message: 'can never match: the gather takes dtmf only; use input "dtmf speech"',
    });
    const g = good();
    g.steps[0]!.gather!.input = 'speech';
    expect(paths(g)).toEqual(['steps[0].branches[0].digits', 'steps[0].branches[1].digits', 'steps[0].branches[2].digits']);
  });

  it('refuses a step no path reaches', () => {
    const f = good();
    f.steps.push({ id: 'lonely', say: 'Nobody hears me.' });
    expect(checkIvrFlow(f)).toEqual([{ path: 'steps[3]', message: "step 'lonely' is never reached from the start step 'menu'" }]);
  });

  it('refuses steps that only go to each other, naming the cycle', () => {
    const f = flow({
      name: 'loop',
      steps: [
        { id: 'a', say: 'A', next: { type: 'goto', step: 'b' } },
        { id: 'b', say: 'B', next: { type: 'goto', step: 'c' } },
        { id: 'c', say: 'C', next: { type: 'goto', step: 'b' } },
      ],
    });
    expect(checkIvrFlow(f)).toEqual([{ path: 'steps[1]', message: "steps 'b' → 'c' → 'b' only go to each other: the call never ends" }]);
    const self = flow({ name: 'self', steps: [{ id: 'a', say: 'A', next: { type: 'goto', step: 'a' } }] });
    expect(checkIvrFlow(self)).toEqual([{ path: 'steps[0]', message: "step 'a' only goes to itself ('a' → 'a'): the call never ends" }]);
    // A gather step always has a way out (silence hangs up by default), so a menu may loop back.
    expect(checkIvrFlow(good())).toEqual([]);
  });

  it('validates the rendered TwiML: a bad voice is named on the voice field', () => {
    const f = good();
    f.steps[2]!.voice = 'robot';
    const issues = checkIvrFlow(f);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'steps[2].voice', message: expect.stringMatching(/^Twilio would refuse the rendered TwiML: <Say voice="robot">/) });
    // The voice also speaks the step's action prompts.
    const g = good();
    g.steps[0]!.voice = 'robot';
    expect(paths(g)).toEqual(['steps[0].voice', 'steps[0].branches[0].action.say']);
  });
});

describe('renderIvrStep', () => {
  it('wraps the prompt in a Gather that posts to the answer URL', async () => {
    const xml = await renderIvrStep(good(), 'menu', urls, 2);
    expect(validateTwiml(xml)).toEqual([]);
    const [response, gather, say] = elements(xml);
    expect(response?.name).toBe('Response');
    expect(gather).toEqual({
      name: 'Gather',
      attributes: {
        input: 'dtmf speech',
        numDigits: '1',
        timeout: '5',
        hints: 'sales, billing',
        language: 'en-US',
        action: urls.answer('menu', 2),
        method: 'POST',
        actionOnEmptyResult: 'true',
      },
      text: '',
    });
    expect(say).toMatchObject({ name: 'Say', attributes: { voice: 'Polly.Joanna-Neural', language: 'en-US' }, text: 'Press 1 or say sales. Press 2 or say billing.' });
  });

  it('plays audio inside the Gather', async () => {
    const xml = await renderIvrStep(good(), 'billing', urls, 1);
    expect(elements(xml).map((e) => e.name)).toEqual(['Response', 'Gather', 'Play']);
    expect(elements(xml)[2]?.text).toBe('https://example.test/billing.mp3');
    expect(elements(xml)[1]?.attributes).not.toHaveProperty('hints');
  });

  it('renders prompt then next for a step without gather, hanging up by default', async () => {
    const f = good();
    expect(elements(await renderIvrStep(f, 'bye', urls, 1)).map((e) => e.name)).toEqual(['Response', 'Say', 'Hangup']);
    f.steps[2]!.next = { type: 'goto', step: 'menu' };
    const redirect = elements(await renderIvrStep(f, 'bye', urls, 1))[2];
    expect(redirect).toEqual({ name: 'Redirect', attributes: { method: 'POST' }, text: urls.step('menu', 1) });
    delete f.steps[2]!.next;
    expect(elements(await renderIvrStep(f, 'bye', urls, 1)).map((e) => e.name)).toEqual(['Response', 'Say', 'Hangup']);
  });

  it('throws for an unknown step', async () => {
    await expect(renderIvrStep(good(), 'nope', urls, 1)).rejects.toThrow(/no step 'nope'/);
  });
});

describe('renderIvrOutcome', () => {
  const render = async (outcome: IvrOutcome, f = good()) => {
    const xml = await renderIvrOutcome(f, outcome, urls);
    expect(validateTwiml(xml)).toEqual([]);
    return elements(xml).slice(1);
  };

  it('goto redirects to the target step, attempt 1', async () => {
    expect(await render({ kind: 'action', step: 'menu', action: { type: 'goto', step: 'billing' } })).toEqual([
      { name: 'Redirect', attributes: { method: 'POST' }, text: urls.step('billing', 1) },
    ]);
  });

  it('repeat redirects to the same step with the next attempt', async () => {
    expect(await render({ kind: 'repeat', step: 'menu', attempt: 3 })).toEqual([{ name: 'Redirect', attributes: { method: 'POST' }, text: urls.step('menu', 3) }]);
  });

  it('transfer says its words in the step voice, then dials', async () => {
    const [say, dial] = await render({ kind: 'action', step: 'menu', action: { type: 'transfer', to: '+14155550100', say: 'Connecting.' } });
    expect(say).toMatchObject({ name: 'Say', attributes: { voice: 'Polly.Joanna-Neural' }, text: 'Connecting.' });
    expect(dial).toEqual({ name: 'Dial', attributes: {}, text: '+14155550100' });
    expect((await render({ kind: 'action', step: 'menu', action: { type: 'transfer', to: '+14155550100' } })).map((e) => e.name)).toEqual(['Dial']);
  });

  it('voicemail records to the voicemail URL (120 s by default), transcribing when asked', async () => {
    const [say, record, hangup] = await render({ kind: 'action', step: 'billing', action: { type: 'voicemail', say: 'Leave a message.', max_seconds: 60, transcribe: true } });
    expect(say?.text).toBe('Leave a message.');
    expect(record).toEqual({
      name: 'Record',
      attributes: { maxLength: '60', action: urls.voicemailDone('billing'), method: 'POST', playBeep: 'true', transcribe: 'true' },
      text: '',
    });
    expect(hangup?.name).toBe('Hangup');
    const [plain] = await render({ kind: 'action', step: 'billing', action: { type: 'voicemail' } });
    expect(plain?.attributes).toEqual({ maxLength: '120', action: urls.voicemailDone('billing'), method: 'POST', playBeep: 'true' });
  });

  it('hangup says its words, then hangs up', async () => {
    expect((await render({ kind: 'action', step: 'menu', action: { type: 'hangup', say: 'Bye.' } })).map((e) => [e.name, e.text])).toEqual([
      ['Say', 'Bye.'],
      ['Hangup', ''],
    ]);
  });

  it('sms continues to its then step, or hangs up', async () => {
    expect(await render({ kind: 'action', step: 'menu', action: { type: 'sms', body: 'x', then: 'menu' } })).toEqual([
      { name: 'Redirect', attributes: { method: 'POST' }, text: urls.step('menu', 1) },
    ]);
    expect((await render({ kind: 'action', step: 'menu', action: { type: 'sms', body: 'x' } })).map((e) => e.name)).toEqual(['Hangup']);
  });
});

describe('resolveIvrAnswer', () => {
  it('matches digits exactly, dropping a trailing #', () => {
    const f = good();
    expect(resolveIvrAnswer(f, 'menu', { digits: '2' }, 1)).toEqual({
      outcome: { kind: 'action', step: 'menu', action: { type: 'goto', step: 'billing' } },
      matched: 'branch',
      branch: 1,
    });
    expect(resolveIvrAnswer(f, 'billing', { digits: '11#' }, 1)).toMatchObject({ matched: 'branch', branch: 0 });
    expect(resolveIvrAnswer(f, 'billing', { digits: '1' }, 1)).toMatchObject({ matched: 'otherwise', outcome: { kind: 'action', action: { type: 'goto', step: 'menu' } } });
    expect(resolveIvrAnswer(f, 'billing', { digits: '111' }, 1).matched).toBe('otherwise');
  });

  it('matches speech as whole words after normalising', () => {
    const f = good();
    expect(resolveIvrAnswer(f, 'menu', { speech: 'Um, BILLING please!', confidence: 0.9 }, 1)).toMatchObject({ matched: 'branch', branch: 1 });
    expect(resolveIvrAnswer(f, 'menu', { speech: 'Sales.' }, 1)).toMatchObject({ matched: 'branch', branch: 0 });
    // "wholesales" contains "sales" but not as a word.
    expect(resolveIvrAnswer(f, 'menu', { speech: 'wholesales' }, 1).matched).toBe('otherwise');
    const phrase = flow({
      name: 'p',
      steps: [{ id: 's', say: 'Say it', gather: { input: 'speech' }, branches: [{ speech: "Talk to   an agent", action: { type: 'hangup' } }] }],
    });
    expect(resolveIvrAnswer(phrase, 's', { speech: 'I want to talk to an agent, now' }, 1).matched).toBe('branch');
    expect(resolveIvrAnswer(phrase, 's', { speech: 'talk to agent' }, 1).matched).toBe('otherwise');
  });

  it('repeats an unmatched answer up to 3 attempts, then hangs up with a short goodbye', () => {
    const f = good();
    expect(resolveIvrAnswer(f, 'menu', { digits: '7' }, 1)).toEqual({ outcome: { kind: 'repeat', step: 'menu', attempt: 2 }, matched: 'otherwise' });
    expect(resolveIvrAnswer(f, 'menu', { digits: '7' }, 2).outcome).toEqual({ kind: 'repeat', step: 'menu', attempt: 3 });
    expect(resolveIvrAnswer(f, 'menu', { digits: '7' }, 3)).toEqual({
      outcome: { kind: 'action', step: 'menu', action: { type: 'hangup', say: IVR_GIVE_UP_SAY } },
      matched: 'otherwise',
    });
    expect(IVR_GIVE_UP_SAY).toBe('Sorry, goodbye.');
  });

  it('treats no digits and no speech as no_input (default hang up)', () => {
    const f = good();
    expect(resolveIvrAnswer(f, 'menu', {}, 1)).toEqual({ outcome: { kind: 'action', step: 'menu', action: { type: 'goto', step: 'bye' } }, matched: 'no_input' });
    expect(resolveIvrAnswer(f, 'billing', { digits: '#', speech: '  ' }, 1)).toEqual({
      outcome: { kind: 'action', step: 'billing', action: { type: 'hangup' } },
      matched: 'no_input',
    });
  });
});
