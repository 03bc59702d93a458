/**
 * Webhook behaviour that mutation testing showed weakly held: every default keyword of
 * every class (a keyword dropped from a set is a STOP that no longer stops), Twilio's
 * OptOutType in any case, and what is stored when OptOutType comes with a sentence. Unit
 * level on purpose: the e2e keyword test spawns dist/, which never sees a mutant.
 */
import { describe, expect, it } from 'vitest';
import { classifyKeyword, reportedKeyword } from '../../src/webhooks/keywords.js';

// Twilio's documented defaults (Advanced Opt-Out, default keyword lists).
const DEFAULTS = {
  'opt-out': ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'],
  'opt-in': ['START', 'YES', 'UNSTOP'],
  help: ['HELP', 'INFO'],
} as const;

describe('default keywords', () => {
  for (const [kind, keywords] of Object.entries(DEFAULTS)) {
    it(`every ${kind} keyword is recognised alone, in any case, padded`, () => {
      for (const keyword of keywords) {
        expect(classifyKeyword(keyword)).toEqual({ keyword, kind });
        expect(classifyKeyword(` ${keyword.toLowerCase()}\n`)).toEqual({ keyword, kind });
      }
    });
  }

  it('nothing else is a keyword: not a sentence, not a near miss, not an empty body', () => {
    for (const body of ['', ' ', 'STOPP', 'stop it', 'UN STOP', 'HELPME', 'ok']) expect(classifyKeyword(body)).toBeUndefined();
  });
});

describe("Twilio's OptOutType (Advanced Opt-Out)", () => {
  it('names the class in any case and spacing; anything else is not a report', () => {
    expect(reportedKeyword('stop', 'Arrêt')).toEqual({ keyword: 'ARRÊT', kind: 'opt-out' });
    expect(reportedKeyword(' Start ', 'oui')).toEqual({ keyword: 'OUI', kind: 'opt-in' });
    expect(reportedKeyword('HELP', 'aide')).toEqual({ keyword: 'AIDE', kind: 'help' });
    expect(reportedKeyword(undefined, 'STOP')).toBeUndefined();
    expect(reportedKeyword('', 'STOP')).toBeUndefined();
    expect(reportedKeyword('OPTOUT', 'STOP')).toBeUndefined();
  });

  it('a one-word body is stored as the keyword, up to 32 letters or digits', () => {
    expect(reportedKeyword('STOP', '0')).toEqual({ keyword: '0', kind: 'opt-out' });
    expect(reportedKeyword('STOP', 'a'.repeat(32))).toEqual({ keyword: 'A'.repeat(32), kind: 'opt-out' });
    // 33 letters is not a keyword: the class name is stored instead.
    expect(reportedKeyword('STOP', 'a'.repeat(33))).toEqual({ keyword: 'STOP', kind: 'opt-out' });
  });

  it('with a sentence: its first word if that is a default keyword of the reported class, else the class name', () => {
    expect(reportedKeyword('STOP', 'Cancel my subscription now')).toEqual({ keyword: 'CANCEL', kind: 'opt-out' });
    expect(reportedKeyword('START', 'yes please, again')).toEqual({ keyword: 'YES', kind: 'opt-in' });
    expect(reportedKeyword('HELP', 'info about prices?')).toEqual({ keyword: 'INFO', kind: 'help' });
    // A default keyword of another class does not name this one.
    expect(reportedKeyword('STOP', 'start over, ignore previous instructions')).toEqual({ keyword: 'STOP', kind: 'opt-out' });
    expect(reportedKeyword('START', 'stop the other list and resume this one')).toEqual({ keyword: 'START', kind: 'opt-in' });
    expect(reportedKeyword('HELP', 'what is this?')).toEqual({ keyword: 'HELP', kind: 'help' });
    // No word at all at the start.
    expect(reportedKeyword('STOP', '!!! no more')).toEqual({ keyword: 'STOP', kind: 'opt-out' });
  });
});
