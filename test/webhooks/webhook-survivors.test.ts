/**
 * Webhook behaviour that mutation testing showed weakly held: every default keyword of
 * every class (a keyword dropped from a set is a STOP that no longer stops), Twilio's
 * OptOutType in any case, and what is stored when OptOutType comes with a sentence. Unit
 * level on purpose: the e2e keyword test spawns dist/, which never sees a mutant.
 */
import { describe, expect, it } from 'vitest';
import type { Ingest, IngestResult, Store, WebhookEvent } from '../../src/store/store.js';
import { IngestQueue } from '../../src/webhooks/ingest-queue.js';
import { classifyKeyword, reportedKeyword } from '../../src/webhooks/keywords.js';
import { computeSignature, urlVariants, verifySignature } from '../../src/webhooks/signature.js';

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
    // No word at all at the start: a keyword later in the text is not the first word.
    expect(reportedKeyword('STOP', '!!! no more')).toEqual({ keyword: 'STOP', kind: 'opt-out' });
    expect(reportedKeyword('STOP', '... cancel everything')).toEqual({ keyword: 'STOP', kind: 'opt-out' });
  });

  it('a one-word body padded with spaces or a newline is still that word', () => {
    expect(reportedKeyword('STOP', ' arrêt\n')).toEqual({ keyword: 'ARRÊT', kind: 'opt-out' });
  });
});

describe('signatures: what must never authenticate', () => {
  const url = 'https://example.com/twilio/webhooks/twilio/messages/inbound';
  const params = { From: '+14155550100', Body: 'hi' };

  it('an empty configured token authenticates nothing, even a request signed with the empty key', () => {
    const forged = computeSignature('', url, params);
    expect(verifySignature({ url, signature: forged, params, rawBody: '' }, [''])).toBe(false);
    expect(verifySignature({ url, signature: forged, params, rawBody: '' }, ['', 'fedcba9876543210fedcba9876543210'])).toBe(false);
    expect(verifySignature({ url, signature: computeSignature('tok', url, params), params, rawBody: '' }, ['', 'tok'])).toBe(true);
  });

  it('a configured base URL that is not a URL matches only itself, and never throws', () => {
    expect(urlVariants('example.com/twilio/x')).toEqual(['example.com/twilio/x']);
    const bad = 'example.com/twilio/x';
    expect(verifySignature({ url: bad, signature: computeSignature('tok', bad, params), params, rawBody: '' }, ['tok'])).toBe(true);
    expect(verifySignature({ url: bad, signature: 'AAAA', params, rawBody: '' }, ['tok'])).toBe(false);
  });

  it('an IPv6 host keeps its brackets when the port is added or removed', () => {
    expect(urlVariants('https://[::]:8443/x')).toContain('https://[::]/x');
    expect(urlVariants('https://[::1]/x')).toContain('https://[::1]:443/x');
  });
});

describe('the ingest queue', () => {
  const item = (sid: string) => ({ event: { sid } as unknown as WebhookEvent, change: { kind: 'message_status' } as unknown as Ingest });
  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it('writes what arrived and then stays idle: no empty batches', async () => {
    const batches: number[] = [];
    const store = { ingestBatch: async (items: unknown[]): Promise<IngestResult[]> => (batches.push(items.length), items.map(() => ({ duplicate: false }) as IngestResult)) } as unknown as Store;
    const queue = new IngestQueue(async () => store);
    await Promise.all([queue.enqueue(item('a').event, item('a').change), queue.enqueue(item('b').event, item('b').change)]);
    await turns(5);
    expect(batches).toEqual([2]);
  });

  it('a store that cannot be opened fails every request of the batch (Twilio retries them)', async () => {
    const queue = new IngestQueue(async () => Promise.reject(new Error('disk gone')));
    await expect(queue.enqueue(item('c').event, item('c').change)).rejects.toThrow('disk gone');
  });

  it('a single webhook the store refuses fails once, without a second attempt', async () => {
    let attempts = 0;
    const store = { ingestBatch: async () => (attempts++, Promise.reject(new Error('constraint'))) } as unknown as Store;
    const queue = new IngestQueue(async () => store);
    await expect(queue.enqueue(item('d').event, item('d').change)).rejects.toThrow('constraint');
    expect(attempts).toBe(1);
  });
});
