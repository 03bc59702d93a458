import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadVoiceResponse, sayTwiml } from '../../src/domain/twiml/build-twiml.js';
import { MAX_SAY_CHARS } from '../../src/domain/ivr-flow-schema.js';
import { INLINE_TWIML_MAX_CHARS, validateTwiml, type TwimlIssue } from '../../src/domain/twiml/validate-twiml.js';
import { SAY_MAX_CHARS } from '../../src/domain/twiml/voice-grammar.js';

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

function only(issues: TwimlIssue[]): TwimlIssue {
  expect(issues).toHaveLength(1);
  return issues[0] as TwimlIssue;
}

describe('validateTwiml: Twilio documented examples are valid', () => {
  const examples: Record<string, string> = {
    say: '<Response>\n  <Say voice="woman" language="fr-FR" loop="2">Bonjour</Say>\n</Response>',
    'say with Polly and SSML':
      '<Response><Say voice="Polly.Joanna-Neural">Hi <break time="500ms"/><emphasis level="strong">there</emphasis> <say-as interpret-as="digits">123</say-as></Say></Response>',
    'say with a Google voice': '<Response><Say voice="Google.en-US-Chirp3-HD-Aoede">Hi</Say></Response>',
    'gather with nested say':
      '<Response>\n  <Gather input="speech dtmf" timeout="3" numDigits="1" action="/process" method="POST">\n    <Say>Please press 1 or say sales.</Say>\n  </Gather>\n  <Say>We didn\'t receive any input. Goodbye!</Say>\n</Response>',
    'dial number': '<Response><Dial callerId="+15551112222" timeout="20" record="record-from-answer"><Number sendDigits="wwww1928">+14155550123</Number></Dial></Response>',
    'dial text': '<Response><Dial>415-123-4567</Dial><Say>Goodbye</Say></Response>',
    'dial conference':
      '<Response><Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="false" beep="onEnter" statusCallbackEvent="start end join">Room 1234</Conference></Dial></Response>',
    'record with transcribe':
      '<Response><Say>Leave a message at the beep.</Say><Record maxLength="30" finishOnKey="*" transcribe="true" transcribeCallback="/t" playBeep="true"/><Say>I did not receive a recording</Say></Response>',
    'connect stream': '<Response><Connect><Stream url="wss://example.com/audio"><Parameter name="a" value="b"/></Stream></Connect></Response>',
    'start stream': '<Response><Start><Stream url="wss://example.com/audio" track="both_tracks"/></Start><Say>Streaming.</Say><Pause length="60"/></Response>',
    redirect: '<Response><Redirect method="POST">http://pigeons.com/twiml.xml</Redirect></Response>',
    'reject busy': '<Response><Reject reason="busy"/></Response>',
    'pay with prompt': '<Response><Pay><Prompt for="payment-card-number"><Say>Enter your card number.</Say></Prompt></Pay></Response>',
    'refer sip': '<Response><Refer action="/done"><Sip>sip:alice@example.com</Sip></Refer></Response>',
    'play digits': '<Response><Play digits="wwww3"/><Play loop="0">https://api.twilio.com/cowbell.mp3</Play><Hangup/></Response>',
    'conversation relay':
      '<Response><Connect><ConversationRelay url="wss://example.com/relay" welcomeGreeting="Hi" interruptible="any" dtmfDetection="true"/></Connect></Response>',
  };
  for (const [name, body] of Object.entries(examples)) {
    it(name, () => {
      expect(validateTwiml(XML_DECL + body)).toEqual([]);
    });
  }

  it('accepts every Say voice the twilio SDK 6.2.0 knows', () => {
    const require = createRequire(import.meta.url);
    const typings = readFileSync(require.resolve('twilio/lib/twiml/VoiceResponse.d.ts'), 'utf8');
    const union = /type SayVoice = ([^;]+);/.exec(typings)?.[1] ?? '';
    const voices = [...union.matchAll(/"([^"]+)"/g)].map((m) => m[1] as string);
    expect(voices.length).toBeGreaterThan(800);
    const refused = voices.filter((voice) => validateTwiml(`<Response><Say voice="${voice}">x</Say></Response>`).length > 0);
    expect(refused).toEqual([]);
  });
});

describe('validateTwiml: broken documents', () => {
  it('reports XML that is not well-formed, at the offending place', () => {
    const issue = only(validateTwiml('<Response>\n  <Say>Hello</Sya>\n</Response>'));
    expect(issue).toEqual({
      line: 2,
      column: 13,
      message: 'TwiML is not well-formed XML: </Sya> does not close the open <Say>',
      suggestion: '</Say>',
    });
    const attribute = only(validateTwiml('<Response>\n<Say voice=robot>Hi</Say></Response>'));
    expect(attribute).toMatchObject({ line: 2, column: 12, message: expect.stringMatching(/^TwiML is not well-formed XML: /) });
  });

  it('places an unclosed element at its opening tag', () => {
    const issue = only(validateTwiml('<Response>\n  <Gather>\n    <Say>Hi</Say>\n</Response>'));
    expect(issue).toMatchObject({ line: 4, column: 1, message: 'TwiML is not well-formed XML: </Response> does not close the open <Gather>' });
    const unclosed = only(validateTwiml('<Response>\n   <Say>Hi'));
    expect(unclosed).toMatchObject({ line: 2, column: 4, message: expect.stringMatching(/<Say> is never closed/) });
  });

  it('reports an empty document and undefined entities', () => {
    expect(only(validateTwiml('')).message).toMatch(/no <Response>/);
    expect(only(validateTwiml('<Response><Say>Tom & Jerry</Say></Response>')).message).toMatch(/not well-formed/);
  });

  it('requires the root <Response>', () => {
    expect(only(validateTwiml('<Reply><Say>Hi</Say></Reply>'))).toMatchObject({ line: 1, column: 1, suggestion: '<Response>' });
    expect(only(validateTwiml(`${XML_DECL}<response/>`))).toMatchObject({ line: 2, column: 1, message: expect.stringMatching(/case-sensitive/) });
  });

  it('suggests <Say> for <Sya>', () => {
    const issue = only(validateTwiml('<Response>\n  <Sya>Hi</Sya>\n</Response>'));
    expect(issue).toEqual({ line: 2, column: 3, message: '<Sya> is not a TwiML verb; did you mean <Say>?', suggestion: '<Say>' });
  });

  it('suggests <Say> for <say>: TwiML is case-sensitive', () => {
    const issue = only(validateTwiml('<Response><say>Hi</say></Response>'));
    expect(issue).toMatchObject({ line: 1, column: 11, suggestion: '<Say>' });
    expect(issue.message).toBe('<say> is not a TwiML verb (TwiML is case-sensitive); did you mean <Say>?');
    expect(only(validateTwiml('<Response><GATHER/></Response>')).suggestion).toBe('<Gather>');
  });

  it('refuses Gather input="keys"', () => {
    const issue = only(validateTwiml('<Response>\n  <Gather numDigits="1" input="keys"/>\n</Response>'));
    expect(issue).toMatchObject({ line: 2, column: 25 });
    expect(issue.message).toMatch(/input must be one of "dtmf", "speech", "dtmf speech"/);
  });

  it('refuses a negative or fractional Gather timeout, and numDigits below 1', () => {
    const negative = only(validateTwiml('<Response><Gather timeout="-1"/></Response>'));
    expect(negative).toMatchObject({ line: 1, column: 19, suggestion: '0' });
    expect(negative.message).toMatch(/timeout must be at least 0/);
    expect(only(validateTwiml('<Response><Gather timeout="2.5"/></Response>')).message).toMatch(/whole number/);
    expect(only(validateTwiml('<Response><Gather numDigits="0"/></Response>')).message).toMatch(/numDigits must be at least 1/);
    expect(only(validateTwiml('<Response><Pause length="0"/></Response>')).message).toMatch(/length must be at least 1/);
    expect(only(validateTwiml('<Response><Record maxLength="-5"/></Response>')).message).toMatch(/maxLength/);
    expect(only(validateTwiml('<Response><Dial timeout="x">+14155550123</Dial></Response>')).message).toMatch(/whole number/);
  });

  it('refuses other values Twilio refuses', () => {
    expect(only(validateTwiml('<Response><Gather method="PUT"/></Response>')).message).toMatch(/GET or POST/);
    expect(only(validateTwiml('<Response><Record method="post"/></Response>')).suggestion).toBe('POST');
    expect(only(validateTwiml('<Response><Play loop="-1">https://x/a.mp3</Play></Response>')).message).toMatch(/loop must be at least 0/);
    expect(only(validateTwiml('<Response><Dial record="yes">+14155550123</Dial></Response>')).message).toMatch(/record must be one of/);
    expect(only(validateTwiml('<Response><Reject reason="nope"/></Response>')).message).toMatch(/"rejected", "busy"/);
    expect(only(validateTwiml('<Response><Reject reason="bussy"/></Response>')).suggestion).toBe('busy');
  });

  it('refuses an unknown Say voice', () => {
    const issue = only(validateTwiml('<Response>\n<Say voice="robot">Hi</Say>\n</Response>'));
    expect(issue).toMatchObject({ line: 2, column: 6 });
    expect(issue.message).toMatch(/voice is not a Twilio voice/);
    for (const voice of ['Polly.joanna', 'Polly.Joanna-Turbo', 'Google.en-US-Fancy-A', 'Alice']) {
      expect(validateTwiml(`<Response><Say voice="${voice}">Hi</Say></Response>`)).toHaveLength(1);
    }
    expect(validateTwiml('<Response><Say voice="Polly.Joanna-LongForm">Hi</Say></Response>')).toEqual([]);
  });

  it('refuses <Number> directly in <Response> and says where it belongs', () => {
    const issue = only(validateTwiml('<Response>\n  <Number>+14155550123</Number>\n</Response>'));
    expect(issue).toMatchObject({ line: 2, column: 3 });
    expect(issue.message).toMatch(/^<Number> cannot stand inside <Response>.*belongs in <Dial>$/);
  });

  it('refuses <Say> inside <Dial>', () => {
    const issue = only(validateTwiml('<Response><Dial><Say>Connecting</Say><Number>+14155550123</Number></Dial></Response>'));
    expect(issue).toMatchObject({ line: 1, column: 17 });
    expect(issue.message).toMatch(/^<Say> cannot stand inside <Dial>: <Dial> takes <Number>, <Client>/);
  });

  it('warns about an unknown attribute with a did-you-mean', () => {
    const issue = only(validateTwiml('<Response>\n  <Gather\n      timout="5"/>\n</Response>'));
    expect(issue).toEqual({ line: 3, column: 7, message: '<Gather> has no attribute "timout"; did you mean "timeout"?', suggestion: 'timeout' });
    expect(only(validateTwiml('<Response><Gather NumDigits="1"/></Response>')).suggestion).toBe('numDigits');
  });

  it('reports content problems: text where none goes, empty Redirect, Dial text that is not a number', () => {
    expect(only(validateTwiml('<Response><Say>Hi <foo/></Say></Response>')).message).toBe('<foo> is not an SSML tag of <Say>');
    expect(only(validateTwiml('<Response><Dial><Numbr>+14155550123</Numbr></Dial></Response>')).suggestion).toBe('<Number>');
    expect(only(validateTwiml('<Response><Say>a</Say></Response><Say/>')).message).toMatch(/only one root/);
    expect(only(validateTwiml('<Response><Gather>Press 1</Gather></Response>')).message).toMatch(/<Gather> cannot contain text: put words in a <Say>/);
    expect(only(validateTwiml('<Response><Redirect/></Response>')).message).toMatch(/<Redirect> is empty/);
    expect(only(validateTwiml('<Response><Dial>call bob</Dial></Response>')).message).toMatch(/not a phone number/);
    expect(only(validateTwiml('<Response><Say></Say></Response>')).message).toMatch(/nothing to say/);
    expect(SAY_MAX_CHARS).toBe(MAX_SAY_CHARS);
    expect(validateTwiml(`<Response><Say>${'a'.repeat(4096)}</Say></Response>`)).toEqual([]);
    expect(only(validateTwiml(`<Response><Say>${'a'.repeat(4097)}</Say></Response>`)).message).toMatch(/at most 4096/);
  });

  it('judges inline TwiML by the 4000-character limit and hosted TwiML by 64 KB', () => {
    const say = (n: number) => `<Response><Say>${'a'.repeat(n)}</Say></Response>`;
    const overhead = say(0).length;
    const atLimit = say(INLINE_TWIML_MAX_CHARS - overhead);
    expect(atLimit.length).toBe(4000);
    expect(validateTwiml(atLimit, { inline: true })).toEqual([]);
    const over = `<Response>${'<Say>a</Say>'.repeat(400)}</Response>`;
    expect(over.length).toBeGreaterThan(4000);
    const issue = only(validateTwiml(over, { inline: true }));
    expect(issue).toMatchObject({ line: 1, column: 1, message: expect.stringMatching(/4000/) });
    expect(validateTwiml(over)).toEqual([]);
    expect(only(validateTwiml(`<Response>${'<Say>a</Say>'.repeat(6000)}</Response>`)).message).toMatch(/64 KB/);
  });

  it('counts columns in characters, not UTF-16 units', () => {
    const issue = only(validateTwiml('<Response><Say>😀</Say><Sya/></Response>'));
    expect(issue.column).toBe(23);
  });
});

describe('documents built with the SDK validate clean', () => {
  it('sayTwiml', async () => {
    const xml = await sayTwiml({ text: 'Hello <world> & co', voice: 'Polly.Amy', language: 'en-GB', record: true, recordAction: 'https://x/done' });
    expect(validateTwiml(xml, { inline: true })).toEqual([]);
    expect(xml).toContain('<Say voice="Polly.Amy" language="en-GB">Hello &lt;world&gt; &amp; co</Say>');
    expect(xml).toContain('<Record maxLength="120" playBeep="true" action="https://x/done" method="POST"/>');
    expect(await sayTwiml({ text: 'Hi' })).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hi</Say><Hangup/></Response>');
  });

  it('any document of random allowed verbs', async () => {
    const VoiceResponse = await loadVoiceResponse();
    type Build = (r: InstanceType<typeof VoiceResponse>) => void;
    const text = fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim().length > 0 && !/[\uD800-\uDFFF\uFFFE\uFFFF\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(s));
    const voice = fc.constantFrom('man', 'woman', 'alice', 'Polly.Joanna', 'Polly.Mía-Neural', 'Google.en-GB-Standard-A');
    const url = fc.webUrl();
    const number = fc.stringMatching(/^\+[1-9]\d{6,14}$/);
    const verb: fc.Arbitrary<Build> = fc.oneof(
      fc.tuple(text, voice, fc.nat(5)).map(([t, v, loop]): Build => (r) => void r.say({ voice: v as never, loop }, t)),
      fc.tuple(url, fc.nat(3)).map(([u, loop]): Build => (r) => void r.play({ loop }, u)),
      fc.integer({ min: 1, max: 60 }).map((length): Build => (r) => void r.pause({ length })),
      fc
        .tuple(fc.constantFrom<('dtmf' | 'speech')[]>(['dtmf'], ['speech'], ['dtmf', 'speech'], ['speech', 'dtmf']), fc.integer({ min: 1, max: 20 }), fc.nat(60), text, url)
        .map(([input, numDigits, timeout, t, u]): Build => (r) => {
          const g = r.gather({ input, numDigits, timeout, action: u, method: 'POST', actionOnEmptyResult: true });
          g.say(t);
          g.pause({ length: 1 });
        }),
      fc.tuple(fc.integer({ min: 1, max: 3600 }), fc.boolean(), url).map(([maxLength, transcribe, u]): Build => (r) => void r.record({ maxLength, transcribe, action: u })),
      fc.tuple(number, fc.integer({ min: 5, max: 600 })).map(([n, timeout]): Build => (r) => void r.dial({ timeout, record: 'record-from-answer' }).number(n)),
      fc.tuple(text).map(([room]): Build => (r) => void r.dial().conference({ beep: 'false' }, room)),
      fc.constant<Build>((r) => void r.hangup()),
      url.map((u): Build => (r) => void r.redirect({ method: 'POST' }, u)),
      fc.constantFrom('busy', 'rejected').map((reason): Build => (r) => void r.reject({ reason: reason as 'busy' })),
      url.map((u): Build => (r) => void r.connect().stream({ url: u })),
    );
    fc.assert(
      fc.property(fc.array(verb, { minLength: 1, maxLength: 8 }), (builds) => {
        const response = new VoiceResponse();
        for (const build of builds) build(response);
        const xml = response.toString();
        expect(validateTwiml(xml)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
