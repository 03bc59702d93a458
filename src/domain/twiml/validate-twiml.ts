/**
 * Checks a TwiML Voice document before it reaches Twilio, so an agent learns what is wrong
 * (with line, column and a fix) instead of a call that says "an application error has
 * occurred" and hangs up.
 *
 * The saxes SAX parser does all the XML work: well-formedness and the position of every
 * element and attribute. The grammar (what stands where, what values Twilio takes) is data
 * in voice-grammar.ts.
 */
import { distance } from 'fastest-levenshtein';
import { SaxesParser, type SaxesAttributePlain, type SaxesTagPlain } from 'saxes';
import {
  elementRule,
  HOSTED_TWIML_MAX_BYTES,
  INLINE_TWIML_MAX_CHARS,
  SAY_MAX_CHARS,
  SAY_VOICE_PATTERNS,
  VOICE_ELEMENTS,
  type ElementRule,
  type ValueRule,
} from './voice-grammar.js';

export { HOSTED_TWIML_MAX_BYTES, INLINE_TWIML_MAX_CHARS } from './voice-grammar.js';

export interface TwimlIssue {
  /** 1-based. */
  line: number;
  /** 1-based, in Unicode characters. */
  column: number;
  message: string;
  /** The corrected name or value, when there is an obvious one. */
  suggestion?: string;
}

export interface ValidateTwimlOptions {
  /** Judged as the inline `Twiml` parameter of a call (4000 characters) instead of a document served from a URL (64 KB). */
  inline?: boolean;
}

interface Position {
  line: number;
  column: number;
}

interface Frame extends Position {
  name: string;
  /** Undefined for an element that is not TwiML: its subtree is not judged further. */
  rule: ElementRule | undefined;
  text: string;
  children: number;
  attributes: Record<string, string>;
}

/** Maps string offsets to 1-based line/column, breaking lines as XML does (\n, \r\n, \r). */
function positionFinder(xml: string): (offset: number) => Position {
  const lineStarts = [0];
  // Surrogate pairs seen before each offset, so columns count characters in O(1).
  const pairsBefore = new Int32Array(xml.length + 1);
  for (let i = 0; i < xml.length; i++) {
    const code = xml.charCodeAt(i);
    pairsBefore[i + 1] = (pairsBefore[i] ?? 0) + (code >= 0xdc00 && code <= 0xdfff ? 1 : 0);
    if (code === 10 || (code === 13 && xml.charCodeAt(i + 1) !== 10)) lineStarts.push(i + 1);
  }
  return (offset) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((lineStarts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    const start = lineStarts[low] ?? 0;
    return { line: low + 1, column: offset - start - ((pairsBefore[offset] ?? 0) - (pairsBefore[start] ?? 0)) + 1 };
  };
}

/** The closest candidate, compared case-insensitively, when it is close enough to be a typo. */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const tolerance = Math.max(2, Math.floor(name.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}

function joinOr(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? 'nothing') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function listOfTags(names: readonly string[]): string {
  return joinOr(names.map((n) => `<${n}>`));
}

function quoteList(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}

/** Why Twilio would refuse `value`, or undefined when it is fine. */
function valueProblem(rule: ValueRule, value: string): { problem: string; suggestion?: string } | undefined {
  switch (rule.kind) {
    case 'text':
      return undefined;
    case 'boolean':
      if (value === 'true' || value === 'false') return undefined;
      return /^(true|false)$/i.test(value)
        ? { problem: 'must be "true" or "false" in lower case', suggestion: value.toLowerCase() }
        : { problem: 'must be "true" or "false"' };
    case 'method':
      if (value === 'GET' || value === 'POST') return undefined;
      return /^(get|post)$/i.test(value)
        ? { problem: 'must be GET or POST (upper case)', suggestion: value.toUpperCase() }
        : { problem: 'must be GET or POST' };
    case 'integer': {
      if (!/^-?\d+$/.test(value.trim())) return { problem: `must be a whole number${rule.min >= 0 ? ` of at least ${rule.min}` : ''}` };
      const n = Number(value);
      if (n < rule.min) return { problem: `must be at least ${rule.min}`, suggestion: String(rule.min) };
      if (rule.max !== undefined && n > rule.max) return { problem: `must be at most ${rule.max}`, suggestion: String(rule.max) };
      return undefined;
    }
    case 'oneOf': {
      if (rule.values.includes(value)) return undefined;
      const suggestion = closestName(value, rule.values);
      return { problem: `must be one of ${quoteList(rule.values)}`, ...(suggestion ? { suggestion } : {}) };
    }
    case 'listOf': {
      const parts = value.split(/[\s,]+/).filter((p) => p.length > 0);
      const wrong = parts.find((p) => !rule.values.includes(p));
      if (parts.length > 0 && wrong === undefined) return undefined;
      return { problem: `takes values from ${quoteList(rule.values)}, separated by spaces` };
    }
    case 'pattern':
      return rule.pattern.test(value) ? undefined : { problem: `must be ${rule.expected}` };
    case 'voice':
      return SAY_VOICE_PATTERNS.some((p) => p.test(value))
        ? undefined
        : {
            problem: 'is not a Twilio voice: use man, woman, an Amazon Polly voice such as Polly.Joanna or Polly.Joanna-Neural, or a Google voice such as Google.en-US-Neural2-F',
            ...(closestName(value, ['man', 'woman', 'alice']) ? { suggestion: closestName(value, ['man', 'woman', 'alice']) } : {}),
          };
  }
}

function wellFormednessMessage(raw: string): string {
  const text = raw.replace(/^\d+:\d+: /, '').replace(/\.$/, '');
  const unclosed = /^unclosed tag: (.+)$/.exec(text);
  if (unclosed) return `TwiML is not well-formed XML: <${unclosed[1]}> is never closed`;
  const unmatched = /^unmatched closing tag: (.+)$/.exec(text);
  if (unmatched) return `TwiML is not well-formed XML: </${unmatched[1]}> closes an element that is not open`;
  if (text === 'unexpected close tag') return 'TwiML is not well-formed XML: this closing tag does not match the element opened last';
  if (text === 'document must contain a root element') return 'TwiML is not well-formed XML: the document has no <Response> element';
  if (text === 'text data outside of root node') return 'TwiML is not well-formed XML: text outside the <Response> element';
  if (text === 'undefined entity') return 'TwiML is not well-formed XML: undefined entity (write & as &amp; and < as &lt;)';
  return `TwiML is not well-formed XML: ${text}`;
}

/** What a Dial's own text must look like: a phone number Twilio can dial. */
const DIALABLE_TEXT = /^\+?[0-9][0-9 ().-]*$/;

/**
 * Every problem Twilio would have with `xml` as a TwiML Voice document; empty when none.
 * Issues come in document order, except a size problem, which comes first.
 */
export function validateTwiml(xml: string, options: ValidateTwimlOptions = {}): TwimlIssue[] {
  const issues: TwimlIssue[] = [];
  if (options.inline) {
    if (xml.length > INLINE_TWIML_MAX_CHARS) {
      issues.push({
        line: 1,
        column: 1,
        message: `inline TwiML is ${xml.length} characters; Twilio takes at most ${INLINE_TWIML_MAX_CHARS} in a call's Twiml parameter: serve it from a URL instead`,
      });
    }
  } else {
    const bytes = new TextEncoder().encode(xml).length;
    if (bytes > HOSTED_TWIML_MAX_BYTES) {
      issues.push({ line: 1, column: 1, message: `the TwiML document is ${bytes} bytes; Twilio reads at most ${HOSTED_TWIML_MAX_BYTES} (64 KB)` });
    }
  }

  const positionAt = positionFinder(xml);
  const parser = new SaxesParser({ position: true, xmlns: false });
  const stack: Frame[] = [];
  let sawRoot = false;
  let broken = false;
  let pendingAttributes: { attribute: SaxesAttributePlain; at: Position }[] = [];
  let tagStart: Position = { line: 1, column: 1 };
  let lastClosed: { name: string; position: number } | undefined;

  const issue = (at: Position, message: string, suggestion?: string) =>
    issues.push({ line: at.line, column: at.column, message, ...(suggestion !== undefined ? { suggestion } : {}) });

  parser.on('error', (error) => {
    if (broken) return;
    broken = true;
    const unclosed = /unclosed tag: (.+?)\.?$/.exec(error.message);
    const frame = unclosed ? [...stack].reverse().find((f) => f.name === unclosed[1]) : undefined;
    if (frame) return issue(frame, wellFormednessMessage(error.message));
    if (/unexpected close tag|unmatched closing tag/.test(error.message)) {
      // Point at the closing tag itself and name both ends of the mismatch.
      const start = xml.lastIndexOf('</', parser.position - 1);
      const closing = xml.slice(start + 2, xml.indexOf('>', start)).trim();
      // saxes closes the innermost element on a mismatched closing tag before it reports the error.
      const open = lastClosed?.position === parser.position ? lastClosed.name : stack.at(-1)?.name;
      const message = open
        ? `TwiML is not well-formed XML: </${closing}> does not close the open <${open}>`
        : `TwiML is not well-formed XML: </${closing}> closes an element that is not open`;
      return issue(positionAt(start), message, open ? `</${open}>` : undefined);
    }
    // saxes reports after consuming the offending character, so its 0-based "next" column is that character's 1-based column.
    issue({ line: parser.line, column: Math.max(1, parser.column) }, wellFormednessMessage(error.message));
  });

  parser.on('opentagstart', () => {
    if (broken) return;
    tagStart = positionAt(xml.lastIndexOf('<', parser.position - 1));
    pendingAttributes = [];
  });

  parser.on('attribute', (attribute) => {
    if (broken) return;
    // saxes fires after the closing quote; the value cannot hold that quote raw, so the
    // opening one is the previous occurrence, and the name ends just before "=".
    const closing = parser.position - 1;
    const quote = xml[closing] ?? '"';
    let i = xml.lastIndexOf(quote, closing - 1) - 1;
    while (i > 0 && /[\s=]/.test(xml[i] ?? '')) i--;
    pendingAttributes.push({ attribute, at: positionAt(i - attribute.name.length + 1) });
  });

  parser.on('opentag', (tag: SaxesTagPlain) => {
    if (broken) return;
    const parent = stack.at(-1);
    const at = tagStart;
    let rule: ElementRule | undefined;
    if (!parent) {
      sawRoot = true;
      if (tag.name === 'Response') rule = VOICE_ELEMENTS.Response;
      else {
        const fix = tag.name.toLowerCase() === 'response' ? 'Response' : undefined;
        issue(at, `the root element must be <Response>, not <${tag.name}>${fix ? ' (TwiML is case-sensitive)' : ''}`, '<Response>');
        rule = elementRule(tag.name, undefined);
      }
    } else if (parent.rule) {
      rule = checkPlacement(tag.name, parent.name, parent.rule, at);
    }
    if (rule) checkAttributes(tag.name, rule);
    if (parent) parent.children++;
    stack.push({ name: tag.name, rule, text: '', children: 0, attributes: { ...tag.attributes }, ...at });
  });

  const onText = (text: string) => {
    if (broken) return;
    const frame = stack.at(-1);
    if (frame) frame.text += text;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);

  parser.on('closetag', () => {
    if (broken) return;
    const frame = stack.pop();
    if (frame) lastClosed = { name: frame.name, position: parser.position };
    if (frame?.rule) checkContent(frame, frame.rule);
  });

  function checkPlacement(name: string, parentName: string, parentRule: ElementRule, at: Position): ElementRule | undefined {
    const parent = { name: parentName };
    const rule = elementRule(name, parentName);
    if (parentRule.children.includes(name)) return rule;
    if (!rule) {
      const guess = closestName(name, parentRule.children.length > 0 ? parentRule.children : Object.keys(VOICE_ELEMENTS));
      const caseOnly = guess !== undefined && guess.toLowerCase() === name.toLowerCase();
      const kind = parentRule.childKind === 'verb' ? 'TwiML verb' : parentRule.childKind === 'noun' ? `TwiML noun of <${parent.name}>` : 'SSML tag of <Say>';
      issue(
        at,
        `<${name}> is not ${kind.startsWith('SSML') ? 'an' : 'a'} ${kind}${caseOnly ? ' (TwiML is case-sensitive)' : ''}${guess ? `; did you mean <${guess}>?` : ''}`,
        guess ? `<${guess}>` : undefined,
      );
      return undefined;
    }
    const homes = Object.entries(VOICE_ELEMENTS)
      .filter(([, r]) => r.children.includes(name))
      .map(([parentName]) => parentName.replace(/>.*$/, ''));
    const allowed = parent.name === 'Dial' ? [...parentRule.children.map((c) => `<${c}>`), 'a phone number as text'] : parentRule.children.map((c) => `<${c}>`);
    const takes = allowed.length > 0 ? `<${parent.name}> takes ${joinOr(allowed)}` : `<${parent.name}> takes no nested elements`;
    issue(at, `<${name}> cannot stand inside <${parent.name}>: ${takes}${homes.length > 0 ? `; <${name}> belongs in ${listOfTags([...new Set(homes)])}` : ''}`);
    return rule;
  }

  function checkAttributes(element: string, rule: ElementRule) {
    for (const { attribute, at } of pendingAttributes) {
      const { name, value } = attribute;
      if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
      const valueRule = Object.hasOwn(rule.attributes, name) ? rule.attributes[name] : undefined;
      if (!valueRule) {
        const guess = closestName(name, Object.keys(rule.attributes));
        issue(
          at,
          `<${element}> has no attribute "${name}"${guess ? `; did you mean "${guess}"?` : Object.keys(rule.attributes).length === 0 ? ' (it takes none)' : ''}`,
          guess,
        );
        continue;
      }
      const problem = valueProblem(valueRule, value);
      if (problem) issue(at, `<${element} ${name}="${value}">: ${name} ${problem.problem}`, problem.suggestion);
    }
  }

  function checkContent(frame: Frame, rule: ElementRule) {
    const text = frame.text.trim();
    if (rule.text === 'none' && text.length > 0) {
      const hint = frame.name === 'Gather' || frame.name === 'Response' ? ': put words in a <Say>' : '';
      issue(frame, `<${frame.name}> cannot contain text${hint}`);
    }
    if (rule.text === 'required' && text.length === 0) issue(frame, `<${frame.name}> is empty: it needs ${textNeeded(frame.name)}`);
    switch (frame.name) {
      case 'Say':
        if (text.length === 0 && frame.children === 0) issue(frame, '<Say> has nothing to say');
        if (frame.text.length > SAY_MAX_CHARS) issue(frame, `<Say> text is ${frame.text.length} characters; Twilio speaks at most ${SAY_MAX_CHARS}`);
        break;
      case 'Play':
        if (text.length === 0 && frame.attributes.digits === undefined) issue(frame, '<Play> needs an audio URL as its text, or a digits attribute');
        break;
      case 'Dial':
        if (text.length === 0 && frame.children === 0) issue(frame, '<Dial> has nothing to dial: give a phone number as text or nest <Number>, <Client>, <Conference>, <Sip> or <Queue>');
        else if (text.length > 0 && frame.children > 0) issue(frame, '<Dial> has both text and nested nouns: put the number in a <Number> instead');
        else if (text.length > 0 && !DIALABLE_TEXT.test(text)) issue(frame, `<Dial> text "${text}" is not a phone number: use E.164 such as +14155550123, or a noun such as <Client> or <Sip>`);
        break;
      default:
    }
  }

  try {
    parser.write(xml).close();
  } catch {
    // Every parse error already went through the error handler.
  }
  if (!broken && !sawRoot) issue({ line: 1, column: 1 }, 'TwiML is not well-formed XML: the document has no <Response> element');
  return issues;
}

function textNeeded(name: string): string {
  switch (name) {
    case 'Redirect':
      return 'the URL to fetch the next TwiML from';
    case 'Number':
      return 'a phone number';
    case 'Conference':
      return 'the conference room name';
    case 'Queue':
      return 'the queue name';
    case 'Sip':
      return 'a SIP URI such as sip:alice@example.com';
    default:
      return 'text';
  }
}
