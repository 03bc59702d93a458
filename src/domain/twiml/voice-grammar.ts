/**
 * The TwiML Voice grammar as data: which element may stand where, which attributes each
 * takes and what values Twilio accepts. validate-twiml.ts walks a document against it.
 *
 * Sources, per element (the `doc` field): Twilio's TwiML Voice reference pages, checked
 * against the attribute interfaces of the official `twilio` 6.2.0 SDK
 * (lib/twiml/VoiceResponse.d.ts, generated from Twilio's own TwiML definitions). Where
 * the two differ the docs win, and a value rule is only as strict as the docs: a
 * validator that refuses what Twilio accepts is worse than none.
 *
 * Chosen scope (Twilio documents more than the classic verb list):
 * - <Pay> is a verb (docs/voice/twiml/pay); <Prompt> is a noun that stands only inside
 *   <Pay> (docs/voice/twiml/pay/prompt), although the SDK also offers it on <Response>.
 * - <Start>/<Stop> (Media Streams, SIPREC, real-time transcription, recording) are verbs.
 * - <Dial> also takes <Application> and <Sim>, both documented nouns.
 * - <Connect> takes Stream, ConversationRelay, Room, VirtualAgent and Conversation.
 *   Autopilot reached end of life in 2024, so <Autopilot> is not accepted; nor are the
 *   SDK's undocumented <AiSession>/<ConversationRelaySession>, nor the deprecated
 *   <Sms> verb and the test-only <Echo>.
 */

/** How an attribute value is judged. */
export type ValueRule =
  | { readonly kind: 'text' }
  | { readonly kind: 'boolean' }
  /** An HTTP method for a callback: Twilio documents GET and POST only. */
  | { readonly kind: 'method' }
  | { readonly kind: 'integer'; readonly min: number; readonly max?: number }
  | { readonly kind: 'oneOf'; readonly values: readonly string[] }
  /** Several values from the list, separated by spaces (Twilio also takes commas). */
  | { readonly kind: 'listOf'; readonly values: readonly string[] }
  | { readonly kind: 'pattern'; readonly pattern: RegExp; readonly expected: string }
  /** The <Say> voice: see SAY_VOICE_PATTERNS. */
  | { readonly kind: 'voice' };

/** What the element's own text may be. */
export type TextRule = 'none' | 'optional' | 'required';

/** What a child is called in messages ("is not a TwiML verb"). */
export type ChildKind = 'verb' | 'noun' | 'SSML tag';

export interface ElementRule {
  readonly doc: string;
  readonly children: readonly string[];
  readonly childKind: ChildKind;
  readonly text: TextRule;
  readonly attributes: Readonly<Record<string, ValueRule>>;
}

const TEXT: ValueRule = { kind: 'text' };
const BOOLEAN: ValueRule = { kind: 'boolean' };
const METHOD: ValueRule = { kind: 'method' };
const NON_NEGATIVE: ValueRule = { kind: 'integer', min: 0 };
const POSITIVE: ValueRule = { kind: 'integer', min: 1 };
const TRIM: ValueRule = { kind: 'oneOf', values: ['trim-silence', 'do-not-trim'] };
const RECORDING_EVENTS: ValueRule = { kind: 'listOf', values: ['in-progress', 'completed', 'absent'] };
const CALL_EVENTS: ValueRule = { kind: 'listOf', values: ['initiated', 'ringing', 'answered', 'completed'] };
const MEDIA_TRACK: ValueRule = { kind: 'oneOf', values: ['inbound_track', 'outbound_track', 'both_tracks'] };
const NAME_VALUE: Readonly<Record<string, ValueRule>> = { name: TEXT, value: TEXT };
const CARD_TYPES = ['visa', 'mastercard', 'amex', 'maestro', 'discover', 'optima', 'jcb', 'diners-club', 'enroute'];

const PROMPT_VERBS = ['Say', 'Play', 'Pause'];
const RESPONSE_VERBS = [
  'Say', 'Play', 'Pause', 'Gather', 'Record', 'Dial', 'Hangup', 'Redirect', 'Reject',
  'Enqueue', 'Leave', 'Connect', 'Refer', 'Pay', 'Start', 'Stop',
];
const SSML_ALL = ['break', 'emphasis', 'lang', 'p', 'phoneme', 'prosody', 's', 'say-as', 'sub', 'w'];

/** The attributes every answering-machine-detection-capable dial noun shares (Number, Sip). */
const DIAL_LEG_ATTRIBUTES: Readonly<Record<string, ValueRule>> = {
  url: TEXT,
  method: METHOD,
  statusCallback: TEXT,
  statusCallbackEvent: CALL_EVENTS,
  statusCallbackMethod: METHOD,
  machineDetection: { kind: 'oneOf', values: ['Enable', 'DetectMessageEnd'] },
  machineDetectionTimeout: POSITIVE,
  machineDetectionSpeechThreshold: POSITIVE,
  machineDetectionSpeechEndThreshold: POSITIVE,
  machineDetectionSilenceTimeout: POSITIVE,
  amdStatusCallback: TEXT,
  amdStatusCallbackMethod: METHOD,
};

/** SSML rules (docs/voice/twiml/say/text-speech#ssml-tags); nesting as the SDK allows it. */
function ssml(children: readonly string[], attributes: Readonly<Record<string, ValueRule>>, text: TextRule = 'optional'): ElementRule {
  return { doc: 'https://www.twilio.com/docs/voice/twiml/say/text-speech', children, childKind: 'SSML tag', text, attributes };
}

const SAY_ATTRIBUTES: Readonly<Record<string, ValueRule>> = { voice: { kind: 'voice' }, language: TEXT, loop: NON_NEGATIVE };

/**
 * Element rules by name. A key "Parent>Child" overrides the plain name where the same
 * tag means something else under another parent (<Sip> in <Refer> vs in <Dial>).
 */
export const VOICE_ELEMENTS: Readonly<Record<string, ElementRule>> = {
  Response: { doc: 'https://www.twilio.com/docs/voice/twiml', children: RESPONSE_VERBS, childKind: 'verb', text: 'none', attributes: {} },
  Say: { doc: 'https://www.twilio.com/docs/voice/twiml/say', children: SSML_ALL, childKind: 'SSML tag', text: 'optional', attributes: SAY_ATTRIBUTES },
  Play: {
    doc: 'https://www.twilio.com/docs/voice/twiml/play',
    children: [],
    childKind: 'noun',
    text: 'optional',
    attributes: {
      loop: NON_NEGATIVE,
      digits: { kind: 'pattern', pattern: /^[0-9wW*#]+$/, expected: 'digits 0-9, *, # and w/W (a pause)' },
    },
  },
  Pause: { doc: 'https://www.twilio.com/docs/voice/twiml/pause', children: [], childKind: 'noun', text: 'none', attributes: { length: POSITIVE } },
  Gather: {
    doc: 'https://www.twilio.com/docs/voice/twiml/gather',
    children: PROMPT_VERBS,
    childKind: 'verb',
    text: 'none',
    attributes: {
      action: TEXT,
      actionOnEmptyResult: BOOLEAN,
      bargeIn: BOOLEAN,
      debug: BOOLEAN,
      enhanced: BOOLEAN,
      finishOnKey: { kind: 'pattern', pattern: /^[0-9#*]?$/, expected: 'one key (0-9, # or *) or empty' },
      hints: TEXT,
      input: { kind: 'oneOf', values: ['dtmf', 'speech', 'dtmf speech', 'speech dtmf'] },
      language: TEXT,
      maxSpeechTime: POSITIVE,
      method: METHOD,
      numDigits: POSITIVE,
      partialResultCallback: TEXT,
      partialResultCallbackMethod: METHOD,
      profanityFilter: BOOLEAN,
      speechModel: TEXT,
      speechTimeout: { kind: 'pattern', pattern: /^(auto|\d+)$/, expected: '"auto" or a whole number of seconds' },
      timeout: NON_NEGATIVE,
    },
  },
  Record: {
    doc: 'https://www.twilio.com/docs/voice/twiml/record',
    children: [],
    childKind: 'noun',
    text: 'none',
    attributes: {
      action: TEXT,
      method: METHOD,
      timeout: NON_NEGATIVE,
      finishOnKey: { kind: 'pattern', pattern: /^[0-9#*]*$/, expected: 'keys 0-9, # and *' },
      maxLength: POSITIVE,
      playBeep: BOOLEAN,
      trim: TRIM,
      recordingStatusCallback: TEXT,
      recordingStatusCallbackMethod: METHOD,
      recordingStatusCallbackEvent: RECORDING_EVENTS,
      recordingConfigurationId: TEXT,
      transcribe: BOOLEAN,
      transcribeCallback: TEXT,
    },
  },
  Dial: {
    doc: 'https://www.twilio.com/docs/voice/twiml/dial',
    children: ['Number', 'Client', 'Conference', 'Sip', 'Queue', 'Application', 'Sim'],
    childKind: 'noun',
    text: 'optional',
    attributes: {
      action: TEXT,
      answerOnBridge: BOOLEAN,
      callerId: TEXT,
      events: { kind: 'oneOf', values: ['call-progress-event'] },
      hangupOnStar: BOOLEAN,
      method: METHOD,
      passports: TEXT,
      // "true"/"false" stay documented aliases of record-from-answer/do-not-record.
      record: {
        kind: 'oneOf',
        values: ['do-not-record', 'record-from-answer', 'record-from-ringing', 'record-from-answer-dual', 'record-from-ringing-dual', 'true', 'false'],
      },
      recordingConfigurationId: TEXT,
      recordingStatusCallback: TEXT,
      recordingStatusCallbackEvent: RECORDING_EVENTS,
      recordingStatusCallbackMethod: METHOD,
      recordingTrack: { kind: 'oneOf', values: ['both', 'inbound', 'outbound'] },
      referMethod: METHOD,
      referUrl: TEXT,
      ringTone: {
        kind: 'oneOf',
        values: [
          'at', 'au', 'bg', 'br', 'be', 'ch', 'cl', 'cn', 'cz', 'de', 'dk', 'ee', 'es', 'fi', 'fr', 'gr', 'hu', 'il', 'in', 'it', 'lt',
          'jp', 'mx', 'my', 'nl', 'no', 'nz', 'ph', 'pl', 'pt', 'ru', 'se', 'sg', 'th', 'uk', 'us', 'us-old', 'tw', 've', 'za',
        ],
      },
      sequential: BOOLEAN,
      timeLimit: POSITIVE,
      timeout: NON_NEGATIVE,
      trim: TRIM,
    },
  },
  Hangup: { doc: 'https://www.twilio.com/docs/voice/twiml/hangup', children: ['Parameter'], childKind: 'noun', text: 'none', attributes: {} },
  Redirect: { doc: 'https://www.twilio.com/docs/voice/twiml/redirect', children: [], childKind: 'noun', text: 'required', attributes: { method: METHOD } },
  Reject: {
    doc: 'https://www.twilio.com/docs/voice/twiml/reject',
    children: ['Parameter'],
    childKind: 'noun',
    text: 'none',
    attributes: { reason: { kind: 'oneOf', values: ['rejected', 'busy'] } },
  },
  Enqueue: {
    doc: 'https://www.twilio.com/docs/voice/twiml/enqueue',
    children: ['Task'],
    childKind: 'noun',
    text: 'optional',
    attributes: { action: TEXT, maxQueueSize: POSITIVE, method: METHOD, waitUrl: TEXT, waitUrlMethod: METHOD, workflowSid: TEXT },
  },
  Leave: { doc: 'https://www.twilio.com/docs/voice/twiml/leave', children: [], childKind: 'noun', text: 'none', attributes: {} },
  Connect: {
    doc: 'https://www.twilio.com/docs/voice/twiml/connect',
    children: ['Stream', 'ConversationRelay', 'Room', 'VirtualAgent', 'Conversation'],
    childKind: 'noun',
    text: 'none',
    attributes: { action: TEXT, method: METHOD },
  },
  Refer: { doc: 'https://www.twilio.com/docs/voice/twiml/refer', children: ['Sip'], childKind: 'noun', text: 'none', attributes: { action: TEXT, method: METHOD } },
  'Refer>Sip': { doc: 'https://www.twilio.com/docs/voice/twiml/refer', children: [], childKind: 'noun', text: 'required', attributes: {} },
  Pay: {
    doc: 'https://www.twilio.com/docs/voice/twiml/pay',
    children: ['Prompt', 'Parameter'],
    childKind: 'noun',
    text: 'none',
    attributes: {
      action: TEXT,
      bankAccountType: { kind: 'oneOf', values: ['consumer-checking', 'consumer-savings', 'commercial-checking', 'commercial-savings'] },
      chargeAmount: TEXT,
      currency: TEXT,
      description: TEXT,
      input: { kind: 'oneOf', values: ['dtmf'] },
      language: TEXT,
      maxAttempts: POSITIVE,
      minPostalCodeLength: NON_NEGATIVE,
      paymentConnector: TEXT,
      paymentMethod: { kind: 'oneOf', values: ['ach-debit', 'credit-card'] },
      postalCode: TEXT,
      securityCode: BOOLEAN,
      statusCallback: TEXT,
      statusCallbackMethod: METHOD,
      timeout: NON_NEGATIVE,
      tokenType: { kind: 'oneOf', values: ['one-time', 'reusable', 'payment-method'] },
      validCardTypes: { kind: 'listOf', values: CARD_TYPES },
    },
  },
  Prompt: {
    doc: 'https://www.twilio.com/docs/voice/twiml/pay/prompt',
    children: PROMPT_VERBS,
    childKind: 'verb',
    text: 'none',
    attributes: {
      for: {
        kind: 'oneOf',
        values: ['payment-card-number', 'expiration-date', 'security-code', 'postal-code', 'payment-processing', 'bank-account-number', 'bank-routing-number'],
      },
      errorType: {
        kind: 'listOf',
        values: ['timeout', 'invalid-card-number', 'invalid-card-type', 'invalid-date', 'invalid-security-code', 'internal-error', 'input-matching-failed'],
      },
      cardType: { kind: 'listOf', values: CARD_TYPES },
      attempt: { kind: 'pattern', pattern: /^\d+([ ,]+\d+)*$/, expected: 'attempt numbers such as "1 2"' },
      requireMatchingInputs: BOOLEAN,
    },
  },
  Start: {
    doc: 'https://www.twilio.com/docs/voice/twiml/stream',
    children: ['Stream', 'Siprec', 'Transcription', 'Recording'],
    childKind: 'noun',
    text: 'none',
    attributes: { action: TEXT, method: METHOD },
  },
  Stop: { doc: 'https://www.twilio.com/docs/voice/twiml/stream', children: ['Stream', 'Siprec', 'Transcription'], childKind: 'noun', text: 'none', attributes: {} },

  // Nouns of <Dial> (docs/voice/twiml/number, client, conference, sip, queue, application, sim).
  Number: {
    doc: 'https://www.twilio.com/docs/voice/twiml/number',
    children: [],
    childKind: 'noun',
    text: 'required',
    attributes: { ...DIAL_LEG_ATTRIBUTES, sendDigits: { kind: 'pattern', pattern: /^[0-9wW*#]+$/, expected: 'digits 0-9, *, # and w/W (a pause)' }, byoc: TEXT },
  },
  Client: {
    doc: 'https://www.twilio.com/docs/voice/twiml/client',
    children: ['Identity', 'Parameter'],
    childKind: 'noun',
    text: 'optional',
    attributes: { url: TEXT, method: METHOD, statusCallback: TEXT, statusCallbackEvent: CALL_EVENTS, statusCallbackMethod: METHOD },
  },
  Identity: { doc: 'https://www.twilio.com/docs/voice/twiml/client', children: [], childKind: 'noun', text: 'required', attributes: {} },
  Conference: {
    doc: 'https://www.twilio.com/docs/voice/twiml/conference',
    children: [],
    childKind: 'noun',
    text: 'required',
    attributes: {
      beep: { kind: 'oneOf', values: ['true', 'false', 'onEnter', 'onExit'] },
      coach: TEXT,
      endConferenceOnExit: BOOLEAN,
      eventCallbackUrl: TEXT,
      jitterBufferSize: { kind: 'oneOf', values: ['large', 'medium', 'small', 'off'] },
      maxParticipants: { kind: 'integer', min: 2, max: 250 },
      muted: BOOLEAN,
      participantLabel: TEXT,
      record: { kind: 'oneOf', values: ['do-not-record', 'record-from-start'] },
      recordingConfigurationId: TEXT,
      recordingStatusCallback: TEXT,
      recordingStatusCallbackEvent: RECORDING_EVENTS,
      recordingStatusCallbackMethod: METHOD,
      region: { kind: 'oneOf', values: ['us1', 'us2', 'ie1', 'sg1', 'br1', 'au1', 'jp1', 'de1'] },
      startConferenceOnEnter: BOOLEAN,
      statusCallback: TEXT,
      statusCallbackEvent: {
        kind: 'listOf',
        values: ['start', 'end', 'join', 'leave', 'mute', 'hold', 'modify', 'speaker', 'announcement'],
      },
      statusCallbackMethod: METHOD,
      trim: TRIM,
      waitMethod: METHOD,
      waitUrl: TEXT,
    },
  },
  Sip: {
    doc: 'https://www.twilio.com/docs/voice/twiml/sip',
    children: [],
    childKind: 'noun',
    text: 'required',
    attributes: { ...DIAL_LEG_ATTRIBUTES, username: TEXT, password: TEXT },
  },
  Queue: {
    doc: 'https://www.twilio.com/docs/voice/twiml/queue',
    children: [],
    childKind: 'noun',
    text: 'required',
    attributes: { url: TEXT, method: METHOD, reservationSid: TEXT, postWorkActivitySid: TEXT },
  },
  Application: {
    doc: 'https://www.twilio.com/docs/voice/twiml/application',
    children: ['ApplicationSid', 'Parameter'],
    childKind: 'noun',
    text: 'optional',
    attributes: {
      url: TEXT,
      method: METHOD,
      statusCallback: TEXT,
      statusCallbackEvent: CALL_EVENTS,
      statusCallbackMethod: METHOD,
      customerId: TEXT,
      copyParentTo: BOOLEAN,
    },
  },
  ApplicationSid: { doc: 'https://www.twilio.com/docs/voice/twiml/application', children: [], childKind: 'noun', text: 'required', attributes: {} },
  Sim: { doc: 'https://www.twilio.com/docs/voice/twiml/sim', children: [], childKind: 'noun', text: 'required', attributes: {} },

  // Nouns of <Connect> / <Start>.
  Stream: {
    doc: 'https://www.twilio.com/docs/voice/twiml/stream',
    children: ['Parameter'],
    childKind: 'noun',
    text: 'none',
    attributes: {
      url: TEXT,
      name: TEXT,
      track: MEDIA_TRACK,
      statusCallback: TEXT,
      statusCallbackMethod: METHOD,
      connectorName: TEXT,
      audioFormat: TEXT,
      sampleRate: TEXT,
    },
  },
  ConversationRelay: {
    doc: 'https://www.twilio.com/docs/voice/twiml/connect/conversationrelay',
    children: ['Language', 'Parameter'],
    childKind: 'noun',
    text: 'none',
    attributes: {
      url: TEXT,
      welcomeGreeting: TEXT,
      welcomeGreetingInterruptible: TEXT,
      language: TEXT,
      ttsLanguage: TEXT,
      ttsProvider: TEXT,
      voice: TEXT,
      transcriptionLanguage: TEXT,
      transcriptionProvider: TEXT,
      speechModel: TEXT,
      interruptible: { kind: 'oneOf', values: ['any', 'none', 'dtmf', 'speech', 'true', 'false'] },
      interruptSensitivity: TEXT,
      dtmfDetection: BOOLEAN,
      reportInputDuringAgentSpeech: BOOLEAN,
      preemptible: BOOLEAN,
      partialPrompts: BOOLEAN,
      profanityFilter: BOOLEAN,
      hints: TEXT,
      debug: TEXT,
      events: TEXT,
      intelligenceService: TEXT,
      elevenlabsTextNormalization: TEXT,
      backgroundnoisereduction: TEXT,
      deepgramsmartformat: TEXT,
      ignorebackchannel: TEXT,
      speechtimeout: TEXT,
    },
  },
  Language: {
    doc: 'https://www.twilio.com/docs/voice/twiml/connect/conversationrelay',
    children: [],
    childKind: 'noun',
    text: 'none',
    attributes: { code: TEXT, voice: TEXT, ttsProvider: TEXT, transcriptionProvider: TEXT, speechModel: TEXT },
  },
  Room: { doc: 'https://www.twilio.com/docs/voice/twiml/connect', children: [], childKind: 'noun', text: 'required', attributes: { participantIdentity: TEXT } },
  VirtualAgent: {
    doc: 'https://www.twilio.com/docs/voice/twiml/connect/virtualagent',
    children: ['Config', 'Parameter'],
    childKind: 'noun',
    text: 'none',
    attributes: { connectorName: TEXT, language: TEXT, sentimentAnalysis: BOOLEAN, statusCallback: TEXT, statusCallbackMethod: METHOD },
  },
  Conversation: {
    doc: 'https://www.twilio.com/docs/voice/twiml/connect/conversation',
    children: [],
    childKind: 'noun',
    text: 'none',
    attributes: {
      serviceInstanceSid: TEXT,
      inboundAutocreation: BOOLEAN,
      routingAssignmentTimeout: NON_NEGATIVE,
      inboundTimeout: NON_NEGATIVE,
      url: TEXT,
      method: METHOD,
      record: {
        kind: 'oneOf',
        values: ['do-not-record', 'record-from-answer', 'record-from-ringing', 'record-from-answer-dual', 'record-from-ringing-dual', 'true', 'false'],
      },
      trim: TRIM,
      recordingStatusCallback: TEXT,
      recordingStatusCallbackMethod: METHOD,
      recordingStatusCallbackEvent: RECORDING_EVENTS,
      statusCallback: TEXT,
      statusCallbackMethod: METHOD,
      statusCallbackEvent: { kind: 'listOf', values: ['call-initiated', 'call-ringing', 'call-answered', 'call-completed'] },
    },
  },
  Siprec: {
    doc: 'https://www.twilio.com/docs/voice/twiml/siprec',
    children: ['Parameter'],
    childKind: 'noun',
    text: 'none',
    attributes: { name: TEXT, connectorName: TEXT, track: MEDIA_TRACK, statusCallback: TEXT, statusCallbackMethod: METHOD },
  },
  Transcription: {
    doc: 'https://www.twilio.com/docs/voice/twiml/transcription',
    children: ['Config', 'Parameter'],
    childKind: 'noun',
    text: 'none',
    attributes: {
      name: TEXT,
      track: MEDIA_TRACK,
      statusCallbackUrl: TEXT,
      statusCallbackMethod: METHOD,
      inboundTrackLabel: TEXT,
      outboundTrackLabel: TEXT,
      partialResults: BOOLEAN,
      languageCode: TEXT,
      transcriptionEngine: TEXT,
      profanityFilter: BOOLEAN,
      speechModel: TEXT,
      hints: TEXT,
      enableAutomaticPunctuation: BOOLEAN,
      intelligenceService: TEXT,
    },
  },
  Recording: {
    doc: 'https://www.twilio.com/docs/voice/twiml/recording',
    children: [],
    childKind: 'noun',
    text: 'none',
    attributes: {
      recordingStatusCallback: TEXT,
      recordingStatusCallbackMethod: METHOD,
      recordingStatusCallbackEvent: RECORDING_EVENTS,
      trim: TRIM,
      track: { kind: 'oneOf', values: ['inbound', 'outbound', 'both'] },
      channels: { kind: 'oneOf', values: ['mono', 'dual'] },
      recordingConfigurationId: TEXT,
    },
  },
  Parameter: { doc: 'https://www.twilio.com/docs/voice/twiml/stream#custom-parameters', children: [], childKind: 'noun', text: 'none', attributes: NAME_VALUE },
  Config: { doc: 'https://www.twilio.com/docs/voice/twiml/connect/virtualagent', children: [], childKind: 'noun', text: 'none', attributes: NAME_VALUE },
  Task: {
    doc: 'https://www.twilio.com/docs/voice/twiml/enqueue',
    children: [],
    childKind: 'noun',
    text: 'required',
    attributes: { priority: NON_NEGATIVE, timeout: NON_NEGATIVE },
  },

  // SSML inside <Say>.
  break: ssml(
    [],
    {
      strength: { kind: 'oneOf', values: ['none', 'x-weak', 'weak', 'medium', 'strong', 'x-strong'] },
      time: { kind: 'pattern', pattern: /^\d+(\.\d+)?m?s$/, expected: 'a duration such as "500ms" or "2s"' },
    },
    'none',
  ),
  emphasis: ssml(['break', 'emphasis', 'lang', 'phoneme', 'prosody', 'say-as', 'sub', 'w'], {
    level: { kind: 'oneOf', values: ['strong', 'moderate', 'reduced'] },
  }),
  lang: ssml(SSML_ALL, { 'xml:lang': TEXT }),
  p: ssml(['break', 'emphasis', 'lang', 'phoneme', 'prosody', 's', 'say-as', 'sub', 'w'], {}),
  phoneme: ssml([], {
    alphabet: { kind: 'oneOf', values: ['ipa', 'x-sampa', 'x-amazon-jyutping', 'x-amazon-pinyin', 'x-amazon-pron-kana', 'x-amazon-yomigana'] },
    ph: TEXT,
  }),
  prosody: ssml(SSML_ALL, { pitch: TEXT, rate: TEXT, volume: TEXT }),
  s: ssml(['break', 'emphasis', 'lang', 'phoneme', 'prosody', 'say-as', 'sub', 'w'], {}),
  'say-as': ssml([], {
    'interpret-as': {
      kind: 'oneOf',
      values: ['characters', 'spell-out', 'cardinal', 'number', 'ordinal', 'digits', 'fraction', 'unit', 'date', 'time', 'address', 'expletive', 'telephone'],
    },
    format: { kind: 'oneOf', values: ['mdy', 'dmy', 'ymd', 'md', 'dm', 'ym', 'my', 'd', 'm', 'y', 'yyyymmdd'] },
  }),
  sub: ssml([], { alias: TEXT }),
  w: ssml(['break', 'emphasis', 'phoneme', 'prosody', 'say-as', 'sub'], { role: TEXT }),
};

/** The rule for `name` as a child of `parent` (undefined: not a TwiML Voice element). */
export function elementRule(name: string, parent: string | undefined): ElementRule | undefined {
  return (parent !== undefined ? VOICE_ELEMENTS[`${parent}>${name}`] : undefined) ?? (Object.hasOwn(VOICE_ELEMENTS, name) ? VOICE_ELEMENTS[name] : undefined);
}

/**
 * <Say voice> values (docs/voice/twiml/say/text-speech): the basic voices, Amazon Polly
 * voices with their engine suffix, and Google voices named <lang>-<model>-<variant>.
 * Patterns rather than the SDK's list of 900 names: Twilio adds voices often.
 */
export const SAY_VOICE_PATTERNS: readonly RegExp[] = [
  /^(man|woman|alice)$/,
  /^Polly\.\p{Lu}[\p{L}]+(-(Neural|Generative|LongForm))?$/u,
  /^Google\.[a-z]{2,3}-[A-Za-z]{2,4}-(Standard|Wavenet|Neural2|Journey|Studio|News|Polyglot|Casual|Chirp-HD|Chirp3-HD)-[A-Za-z0-9]+$/,
];

/**
 * Twilio's limit for the text of one <Say> (the same number as MAX_SAY_CHARS in
 * ivr-flow-schema.ts; kept here too so the validator does not load zod).
 */
export const SAY_MAX_CHARS = 4096;
/** Twilio's limit for TwiML sent inline (CreateCall / UpdateCall `Twiml` parameter). */
export const INLINE_TWIML_MAX_CHARS = 4000;
/** Twilio's limit for a TwiML document your server returns from a URL. */
export const HOSTED_TWIML_MAX_BYTES = 64 * 1024;
