/**
 * Conferences and Participants on the store and its route function: join/leave as the
 * TwiML walker drives them, REST mute/hold/remove/end and what the lists then show, every
 * `left` promise settling, status callbacks with Twilio's parameters, conference
 * recordings, errors, and signatures from the real webhook sender.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAccount } from '../../src/sandbox/account.js';
import { WebhookSender } from '../../src/sandbox/callbacks.js';
import { conferencesRoute, ConferenceStore } from '../../src/sandbox/conferences.js';
import { SANDBOX_ACCOUNT_SID, TEST_SENDER } from '../../src/sandbox/constants.js';
import { RecordingStore } from '../../src/sandbox/recordings.js';
import type { Reply } from '../../src/sandbox/router.js';
import { parseParams, parseQuery, TwilioError } from '../../src/sandbox/wire.js';

const call = (n: number) => `CA${String(n).repeat(32).slice(0, 32)}`;
const A = call(1);
const B = call(2);
const C = call(3);
const ROOT = `/2010-04-01/Accounts/${SANDBOX_ACCOUNT_SID}`;

let posted: Array<{ url: string; params: Record<string, string> }>;
let recordings: RecordingStore;
let store: ConferenceStore;

const events = (url: string) => posted.filter((p) => p.url === url).map((p) => p.params);
function route(method: string, rest: string, query = '', form: Record<string, string> = {}): Reply {
  const reply = conferencesRoute(store, SANDBOX_ACCOUNT_SID, method, rest, parseQuery(query), parseParams(new URLSearchParams(form).toString()));
  if (!reply) throw new Error(`not routed: ${method} ${rest}`);
  return reply;
}
const json = (method: string, rest: string, query = '', form: Record<string, string> = {}) => route(method, rest, query, form).body as any;
function errorOf(fn: () => unknown): TwilioError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TwilioError) return error;
    throw error;
  }
  throw new Error('expected a TwilioError');
}
/** A promise's state right now, without waiting for it. */
async function stateOf<T>(promise: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([promise, Promise.resolve('pending' as const)]);
}
const participantSids = (cf: string, query = '') => json('GET', `/Conferences/${cf}/Participants.json`, query).participants.map((p: any) => p.call_sid);

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2025-03-10T12:00:00Z') });
  posted = [];
  const account = createAccount(SANDBOX_ACCOUNT_SID, 'token', TEST_SENDER);
  const poster = { post: async (url: string, params: Record<string, string>) => void posted.push({ url, params }) };
  recordings = new RecordingStore(account, poster, { recordingReadyMs: 50, transcriptionReadyMs: 100 });
  store = new ConferenceStore(account, poster, recordings);
});
afterEach(() => {
  store.close();
  recordings.close();
  vi.useRealTimers();
});

describe('join and leave', () => {
  it('the same name while not completed is the same conference; init until a participant with startConferenceOnEnter joins', () => {
    const a = store.join('room', A, { startConferenceOnEnter: false });
    expect(a.conferenceSid).toMatch(/^CF[0-9a-f]{32}$/);
    expect(json('GET', `/Conferences/${a.conferenceSid}.json`)).toMatchObject({ status: 'init', friendly_name: 'room' });
    const b = store.join('room', B);
    expect(b.conferenceSid).toBe(a.conferenceSid);
    expect(json('GET', `/Conferences/${a.conferenceSid}.json`).status).toBe('in-progress');
    expect(store.join('other room', C).conferenceSid).not.toBe(a.conferenceSid);
    expect(participantSids(a.conferenceSid)).toEqual([A, B]);
  });

  it('completes when the last participant leaves; the same name then opens a new conference', async () => {
    const a = store.join('room', A);
    const b = store.join('room', B);
    store.leave(A);
    expect(await stateOf(a.left)).toBe('removed');
    expect(await stateOf(b.left)).toBe('pending');
    expect(json('GET', `/Conferences/${a.conferenceSid}.json`).status).toBe('in-progress');
    store.leave(B);
    expect(json('GET', `/Conferences/${a.conferenceSid}.json`)).toMatchObject({ status: 'completed', reason_conference_ended: 'last-participant-left', call_sid_ending_conference: B });
    expect(participantSids(a.conferenceSid)).toEqual([]);
    expect(store.join('room', C).conferenceSid).not.toBe(a.conferenceSid);
  });

  it('one with endConferenceOnExit leaving ends it for everyone: their `left` resolves ended', async () => {
    const host = store.join('room', A, { endConferenceOnExit: true });
    const b = store.join('room', B);
    const c = store.join('room', C);
    store.leave(A);
    expect(await stateOf(host.left)).toBe('removed');
    expect(await stateOf(b.left)).toBe('ended');
    expect(await stateOf(c.left)).toBe('ended');
    expect(json('GET', `/Conferences/${host.conferenceSid}.json`)).toMatchObject({ status: 'completed', reason_conference_ended: 'participant-with-end-conference-on-exit-left', call_sid_ending_conference: A });
  });

  it('leave() of a call in no conference does nothing', () => {
    store.join('room', A);
    expect(() => store.leave(B)).not.toThrow();
    expect(store.all()[0]!.status).toBe('in-progress');
  });
});

describe('REST on participants', () => {
  it('Muted and Hold updates change what the list shows and its Muted/Hold filters', () => {
    const { conferenceSid } = store.join('room', A);
    store.join('room', B, { muted: true });
    store.join('room', C);
    expect(participantSids(conferenceSid, 'Muted=true')).toEqual([B]);
    const updated = json('POST', `/Conferences/${conferenceSid}/Participants/${A}.json`, '', { Muted: 'true', Hold: 'true' });
    expect(updated).toMatchObject({ call_sid: A, muted: true, hold: true, status: 'connected' });
    expect(participantSids(conferenceSid, 'Muted=true')).toEqual([A, B]);
    expect(participantSids(conferenceSid, 'Hold=true')).toEqual([A]);
    expect(participantSids(conferenceSid, 'Muted=false')).toEqual([C]);
    json('POST', `/Conferences/${conferenceSid}/Participants/${B}.json`, '', { Muted: 'false' });
    expect(participantSids(conferenceSid, 'Muted=true')).toEqual([A]);
    expect(json('GET', `/Conferences/${conferenceSid}/Participants/${B}.json`)).toMatchObject({ muted: false, hold: false });
    expect(participantSids(conferenceSid, 'Coaching=true')).toEqual([]);
  });

  it('DELETE removes a participant (204): its `left` resolves removed, it leaves the list, and fetching it is 404 20404', async () => {
    const { conferenceSid, left } = store.join('room', A);
    const b = store.join('room', B);
    expect(route('DELETE', `/Conferences/${conferenceSid}/Participants/${A}.json`)).toEqual({ status: 204 });
    expect(await stateOf(left)).toBe('removed');
    expect(participantSids(conferenceSid)).toEqual([B]);
    expect(errorOf(() => route('GET', `/Conferences/${conferenceSid}/Participants/${A}.json`))).toMatchObject({ status: 404, code: 20404 });
    expect(errorOf(() => route('DELETE', `/Conferences/${conferenceSid}/Participants/${A}.json`))).toMatchObject({ status: 404, code: 20404 });
    route('DELETE', `/Conferences/${conferenceSid}/Participants/${B}.json`);
    expect(await stateOf(b.left)).toBe('removed');
    expect(json('GET', `/Conferences/${conferenceSid}.json`)).toMatchObject({ status: 'completed', reason_conference_ended: 'last-participant-kicked' });
  });

  it('removing the one with endConferenceOnExit ends it as kicked', async () => {
    const { conferenceSid } = store.join('room', A, { endConferenceOnExit: true });
    const b = store.join('room', B);
    route('DELETE', `/Conferences/${conferenceSid}/Participants/${A}.json`);
    expect(await stateOf(b.left)).toBe('ended');
    expect(json('GET', `/Conferences/${conferenceSid}.json`).reason_conference_ended).toBe('participant-with-end-conference-on-exit-kicked');
  });

  it('refuses bad booleans (400), parameters it does not emulate (501), and unknown SIDs (404 20404)', () => {
    const { conferenceSid } = store.join('room', A);
    expect(errorOf(() => route('POST', `/Conferences/${conferenceSid}/Participants/${A}.json`, '', { Muted: 'yes' }))).toMatchObject({ status: 400, code: 20001 });
    expect(errorOf(() => route('GET', `/Conferences/${conferenceSid}/Participants.json`, 'Hold=maybe'))).toMatchObject({ status: 400, code: 20001 });
    expect(errorOf(() => route('POST', `/Conferences/${conferenceSid}/Participants/${A}.json`, '', { HoldUrl: 'https://x.test/h' }))).toMatchObject({ status: 501 });
    const unknownCf = `CF${'9'.repeat(32)}`;
    for (const [method, rest] of [
      ['GET', `/Conferences/${unknownCf}.json`],
      ['POST', `/Conferences/${unknownCf}.json`],
      ['GET', `/Conferences/${unknownCf}/Participants.json`],
      ['DELETE', `/Conferences/${unknownCf}/Participants/${A}.json`],
      ['POST', `/Conferences/${conferenceSid}/Participants/${B}.json`],
      ['DELETE', `/Conferences/${conferenceSid}/Participants/${B}.json`],
    ] as const) {
      const error = errorOf(() => route(method, rest, '', method === 'POST' ? { Status: 'completed', Muted: 'true' } : {}));
      expect(error, `${method} ${rest}`).toMatchObject({ status: 404, code: 20404 });
      expect(error.message).toBe(`The requested resource ${ROOT}${rest} was not found`);
    }
    expect(store.all()[0]!.participants.get(A)!.muted).toBe(false);
  });
});

describe('REST on conferences', () => {
  it('Status=completed ends it: every `left` resolves ended and no participants are listed', async () => {
    const a = store.join('room', A);
    const b = store.join('room', B, { startConferenceOnEnter: false });
    const body = json('POST', `/Conferences/${a.conferenceSid}.json`, '', { Status: 'completed' });
    expect(body).toMatchObject({ status: 'completed', reason_conference_ended: 'conference-ended-via-api', call_sid_ending_conference: null });
    expect(await stateOf(a.left)).toBe('ended');
    expect(await stateOf(b.left)).toBe('ended');
    expect(participantSids(a.conferenceSid)).toEqual([]);
    // Ending it again changes nothing.
    expect(json('POST', `/Conferences/${a.conferenceSid}.json`, '', { Status: 'completed' }).reason_conference_ended).toBe('conference-ended-via-api');
    expect(errorOf(() => route('POST', `/Conferences/${a.conferenceSid}.json`, '', { Status: 'in-progress' }))).toMatchObject({ status: 400, code: 20001 });
    expect(errorOf(() => route('POST', `/Conferences/${a.conferenceSid}.json`, '', { AnnounceUrl: 'https://x.test/a' }))).toMatchObject({ status: 501 });
  });

  it('lists newest first with Status, FriendlyName and DateCreated filters, and pages', () => {
    const first = store.join('alpha', A).conferenceSid;
    vi.setSystemTime(new Date('2025-03-11T08:00:00Z'));
    const second = store.join('beta', B, { startConferenceOnEnter: false }).conferenceSid;
    const third = store.join('gamma', C).conferenceSid;
    store.leave(C);
    const sids = (query: string) => json('GET', '/Conferences.json', query).conferences.map((c: any) => c.sid);
    expect(sids('')).toEqual([third, second, first]);
    expect(sids('Status=init')).toEqual([second]);
    expect(sids('Status=in-progress')).toEqual([first]);
    expect(sids('Status=completed')).toEqual([third]);
    expect(sids('FriendlyName=beta')).toEqual([second]);
    expect(sids('DateCreated=2025-03-10')).toEqual([first]);
    expect(sids('DateCreated>=2025-03-11')).toEqual([third, second]);
    expect(errorOf(() => route('GET', '/Conferences.json', 'Status=ringing'))).toMatchObject({ status: 400, code: 20001 });
    const page1 = json('GET', '/Conferences.json', 'PageSize=2');
    expect(page1.conferences.map((c: any) => c.sid)).toEqual([third, second]);
    const page2 = json('GET', '/Conferences.json', new URL(`http://x${page1.next_page_uri}`).search);
    expect(page2.conferences.map((c: any) => c.sid)).toEqual([first]);
    expect(page2.next_page_uri).toBeNull();
  });

  it('record: ending the conference makes a Recording (source Conference) of it, listed under the conference', async () => {
    const { conferenceSid } = store.join('rec room', A, { record: true, recordingStatusCallback: 'https://cb.test/conf-rec' });
    store.join('rec room', B);
    vi.advanceTimersByTime(42_000);
    route('POST', `/Conferences/${conferenceSid}.json`, '', { Status: 'completed' });
    const [recording] = recordings.all();
    expect(recording).toMatchObject({ source: 'Conference', conferenceSid, callSid: A, durationSeconds: 42 });
    vi.advanceTimersByTime(50);
    expect(events('https://cb.test/conf-rec')).toEqual([expect.objectContaining({ RecordingStatus: 'completed', ConferenceSid: conferenceSid, RecordingDuration: '42' })]);
    expect(json('GET', `/Conferences/${conferenceSid}/Recordings.json`).recordings.map((r: any) => r.sid)).toEqual([recording!.sid]);
    expect(json('GET', `/Conferences/${conferenceSid}/Recordings/${recording!.sid}.json`)).toMatchObject({ status: 'completed', source: 'Conference' });
    // Without record, nothing is made.
    store.join('quiet', C);
    store.leave(C);
    expect(recordings.all()).toHaveLength(1);
  });
});

describe('conference status callbacks', () => {
  it('posts the asked-for events in order with Twilio\'s parameters and a per-conference sequence', () => {
    const url = 'https://cb.test/conf';
    const { conferenceSid } = store.join('room', A, { statusCallback: url, statusCallbackEvent: ['start', 'end', 'join', 'leave', 'mute', 'hold'], startConferenceOnEnter: false });
    store.join('room', B);
    route('POST', `/Conferences/${conferenceSid}/Participants/${B}.json`, '', { Muted: 'true' });
    route('POST', `/Conferences/${conferenceSid}/Participants/${B}.json`, '', { Muted: 'true' }); // no change, no event
    route('POST', `/Conferences/${conferenceSid}/Participants/${B}.json`, '', { Hold: 'true' });
    route('POST', `/Conferences/${conferenceSid}/Participants/${B}.json`, '', { Muted: 'false', Hold: 'false' });
    store.leave(A);
    store.leave(B);
    const got = events(url);
    expect(got.map((e) => e.StatusCallbackEvent)).toEqual([
      'participant-join', 'participant-join', 'conference-start', 'participant-mute', 'participant-hold',
      'participant-unmute', 'participant-unhold', 'participant-leave', 'participant-leave', 'conference-end',
    ]);
    expect(got.map((e) => e.SequenceNumber)).toEqual(got.map((_, i) => String(i + 1)));
    expect(got[3]).toEqual({
      AccountSid: SANDBOX_ACCOUNT_SID,
      ConferenceSid: conferenceSid,
      FriendlyName: 'room',
      StatusCallbackEvent: 'participant-mute',
      Timestamp: 'Mon, 10 Mar 2025 12:00:00 +0000',
      SequenceNumber: '4',
      CallSid: B,
      Muted: 'true',
      Hold: 'false',
      Coaching: 'false',
      EndConferenceOnExit: 'false',
      StartConferenceOnEnter: 'true',
    });
    expect(got[2]).not.toHaveProperty('CallSid');
    expect(got.at(-1)).toMatchObject({ StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'last-participant-left', CallSidEndingConference: B });
  });

  it('without statusCallbackEvent only start and end are posted; without statusCallback nothing', () => {
    store.join('room', A, { statusCallback: 'https://cb.test/default' });
    store.join('room', B);
    store.leave(A);
    store.leave(B);
    expect(events('https://cb.test/default').map((e) => e.StatusCallbackEvent)).toEqual(['conference-start', 'conference-end']);
    store.join('silent', C);
    store.leave(C);
    expect(posted).toHaveLength(2);
  });

  it('close() settles every `left` and posts nothing more', async () => {
    const a = store.join('room', A, { statusCallback: 'https://cb.test/close', statusCallbackEvent: ['end', 'leave'] });
    store.close();
    expect(await stateOf(a.left)).toBe('ended');
    expect(posted).toEqual([]);
  });
});

describe('signed conference callbacks through the real webhook sender', () => {
  let receiver: Server;
  let receiverUrl: string;
  const received: Array<{ params: Record<string, string>; signature: string }> = [];
  let arrived: () => void = () => {};

  beforeEach(async () => {
    vi.useRealTimers();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ params: Object.fromEntries(new URLSearchParams(body)), signature: String(req.headers['x-twilio-signature'] ?? '') });
        res.writeHead(204).end();
        arrived();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/conference`;
  });
  afterEach(async () => {
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('every event is signed so validateRequest accepts it', { timeout: 5000 }, async () => {
    const account = createAccount(SANDBOX_ACCOUNT_SID, 'conf-token', TEST_SENDER);
    const sender = new WebhookSender('conf-token', () => {});
    const signedStore = new ConferenceStore(account, sender, new RecordingStore(account, sender));
    const all = new Promise<void>((resolve) => (arrived = () => received.length >= 3 && resolve()));
    signedStore.join('signed', A, { statusCallback: receiverUrl, statusCallbackEvent: ['start', 'join'] });
    signedStore.join('signed', B);
    await all;
    signedStore.close();
    sender.close();
    expect(received.map((r) => r.params.StatusCallbackEvent).sort()).toEqual(['conference-start', 'participant-join', 'participant-join']);
    for (const r of received) {
      expect(twilio.validateRequest('conf-token', r.signature, receiverUrl, r.params)).toBe(true);
      expect(twilio.validateRequest('other-token', r.signature, receiverUrl, r.params)).toBe(false);
    }
  });
});
