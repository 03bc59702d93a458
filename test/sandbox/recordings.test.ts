/**
 * Recordings and Transcriptions on the store and its route function: lifecycle under fake
 * timers, callbacks with Twilio's documented parameters, listing filters and paging,
 * delete (then 404), media bytes, the Calls subresource, and signatures from the real
 * webhook sender checked with the official SDK.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAccount } from '../../src/sandbox/account.js';
import { MAX_AUDIO_SECONDS, MP3_FRAME_BYTES } from '../../src/sandbox/audio.js';
import { WebhookSender } from '../../src/sandbox/callbacks.js';
import { SANDBOX_ACCOUNT_SID, TEST_SENDER } from '../../src/sandbox/constants.js';
import { recordingsRoute, RecordingStore } from '../../src/sandbox/recordings.js';
import type { Reply } from '../../src/sandbox/router.js';
import { parseQuery, TwilioError } from '../../src/sandbox/wire.js';

const CALL = `CA${'1'.repeat(32)}`;
const OTHER_CALL = `CA${'2'.repeat(32)}`;
const CONFERENCE = `CF${'3'.repeat(32)}`;
const ROOT = `/2010-04-01/Accounts/${SANDBOX_ACCOUNT_SID}`;
const timing = { recordingReadyMs: 50, transcriptionReadyMs: 100 };

let posted: Array<{ url: string; params: Record<string, string> }>;
let store: RecordingStore;

const at = (url: string) => posted.filter((p) => p.url === url).map((p) => p.params);
function route(method: string, rest: string, query = ''): Reply {
  const reply = recordingsRoute(store, SANDBOX_ACCOUNT_SID, method, rest, parseQuery(query), new Map());
  if (!reply) throw new Error(`not routed: ${method} ${rest}`);
  return reply;
}
const json = (method: string, rest: string, query = '') => route(method, rest, query).body as any;
function errorOf(fn: () => unknown): TwilioError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TwilioError) return error;
    throw error;
  }
  throw new Error('expected a TwilioError');
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2025-03-10T12:00:00Z') });
  posted = [];
  store = new RecordingStore(createAccount(SANDBOX_ACCOUNT_SID, 'token', TEST_SENDER), { post: async (url, params) => void posted.push({ url, params }) }, timing);
});
afterEach(() => {
  store.close();
  vi.useRealTimers();
});

describe('recording lifecycle and status callbacks', () => {
  it('processing, then completed after recordingReadyMs with a price and one `completed` callback with the documented parameters', () => {
    const r = store.create({ callSid: CALL, durationSeconds: 7, source: 'RecordVerb', statusCallback: 'https://cb.test/rec' });
    expect(r).toMatchObject({ status: 'processing', callSid: CALL, durationSeconds: 7, price: null, conferenceSid: null });
    expect(r.sid).toMatch(/^RE[0-9a-f]{32}$/);
    expect(store.mediaUrl(r.sid)).toBe(`https://api.twilio.com/2010-04-01/Accounts/${SANDBOX_ACCOUNT_SID}/Recordings/${r.sid}`);
    expect(posted).toEqual([]);
    vi.advanceTimersByTime(49);
    expect(r.status).toBe('processing');
    vi.advanceTimersByTime(1);
    expect(r).toMatchObject({ status: 'completed', price: '-0.00250', errorCode: null });
    expect(at('https://cb.test/rec')).toEqual([
      {
        AccountSid: SANDBOX_ACCOUNT_SID,
        CallSid: CALL,
        RecordingSid: r.sid,
        RecordingUrl: store.mediaUrl(r.sid),
        RecordingStatus: 'completed',
        RecordingDuration: '7',
        RecordingChannels: '1',
        RecordingStartTime: 'Mon, 10 Mar 2025 11:59:53 +0000',
        RecordingSource: 'RecordVerb',
        ErrorCode: '0',
      },
    ]);
  });

  it('in-progress is posted only when asked for; a 0-second recording ends absent with 16101', () => {
    const r = store.create({ callSid: CALL, durationSeconds: 0, source: 'OutboundAPI', statusCallback: 'https://cb.test/ev', statusCallbackEvent: ['in-progress', 'absent'] });
    expect(at('https://cb.test/ev').map((p) => p.RecordingStatus)).toEqual(['in-progress']);
    expect(at('https://cb.test/ev')[0]).not.toHaveProperty('RecordingDuration');
    vi.advanceTimersByTime(50);
    expect(r).toMatchObject({ status: 'absent', errorCode: 16101, price: null });
    expect(at('https://cb.test/ev').at(-1)).toMatchObject({ RecordingStatus: 'absent', ErrorCode: '16101', RecordingDuration: '0' });
    // The default events are `completed` only: nothing for an absent recording.
    store.create({ callSid: CALL, durationSeconds: 0, source: 'OutboundAPI', statusCallback: 'https://cb.test/default' });
    vi.advanceTimersByTime(50);
    expect(at('https://cb.test/default')).toEqual([]);
  });

  it('a conference recording names its conference; prices per started minute', () => {
    const r = store.create({ callSid: CALL, durationSeconds: 61, source: 'Conference', conferenceSid: CONFERENCE, statusCallback: 'https://cb.test/conf', channels: 2 });
    vi.advanceTimersByTime(50);
    expect(r.price).toBe('-0.00500');
    expect(at('https://cb.test/conf')[0]).toMatchObject({ ConferenceSid: CONFERENCE, RecordingSource: 'Conference', RecordingChannels: '2' });
  });

  it('close() stops timers and callbacks', () => {
    const r = store.create({ callSid: CALL, durationSeconds: 3, source: 'RecordVerb', statusCallback: 'https://cb.test/closed' });
    store.close();
    vi.advanceTimersByTime(1000);
    expect(r.status).toBe('processing');
    expect(posted).toEqual([]);
  });

  it('settled() resolves once the recording and its transcription are final', async () => {
    const r = store.create({ callSid: CALL, durationSeconds: 3, source: 'RecordVerb', transcribe: true, transcriptionText: 'hello' });
    let done = false;
    void store.settled(r.sid).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(50);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(done).toBe(true);
    expect(await store.settled(`RE${'f'.repeat(32)}`)).toBeUndefined();
  });
});

describe('transcriptions', () => {
  const callParams = { From: '+14155550100', To: TEST_SENDER, CallStatus: 'completed', Direction: 'inbound' };

  it('in-progress → completed after the recording plus transcriptionReadyMs, with the text and a signed-shape callback', () => {
    const r = store.create({ callSid: CALL, durationSeconds: 5, source: 'RecordVerb', transcribe: true, transcriptionText: 'I need a plumber', transcribeCallback: 'https://cb.test/tr', callParams });
    const t = store.getTranscription(r.transcriptionSid!)!;
    expect(t).toMatchObject({ status: 'in-progress', text: null, recordingSid: r.sid, price: null });
    vi.advanceTimersByTime(149);
    expect(t.status).toBe('in-progress');
    vi.advanceTimersByTime(1);
    expect(t).toMatchObject({ status: 'completed', text: 'I need a plumber', price: '-0.05000' });
    expect(at('https://cb.test/tr')).toEqual([
      {
        ...callParams,
        AccountSid: SANDBOX_ACCOUNT_SID,
        ApiVersion: '2010-04-01',
        CallSid: CALL,
        RecordingSid: r.sid,
        RecordingUrl: store.mediaUrl(r.sid),
        TranscriptionSid: t.sid,
        TranscriptionStatus: 'completed',
        TranscriptionText: 'I need a plumber',
        TranscriptionType: 'fast',
        TranscriptionUrl: `https://api.twilio.com${ROOT}/Recordings/${r.sid}/Transcriptions/${t.sid}`,
      },
    ]);
  });

  it('fails without text, and past 120 seconds: "(blank)", no price, no TranscriptionText in the callback', () => {
    const silent = store.create({ callSid: CALL, durationSeconds: 5, source: 'RecordVerb', transcribe: true, transcribeCallback: 'https://cb.test/blank' });
    const long = store.create({ callSid: CALL, durationSeconds: 121, source: 'RecordVerb', transcribe: true, transcriptionText: 'too long', transcribeCallback: 'https://cb.test/long' });
    vi.advanceTimersByTime(150);
    for (const r of [silent, long]) expect(store.getTranscription(r.transcriptionSid!)).toMatchObject({ status: 'failed', text: '(blank)', price: null });
    for (const url of ['https://cb.test/blank', 'https://cb.test/long']) {
      expect(at(url)).toHaveLength(1);
      expect(at(url)[0]).toMatchObject({ TranscriptionStatus: 'failed' });
      expect(at(url)[0]).not.toHaveProperty('TranscriptionText');
    }
  });

  it('routes: list, per-recording list, fetch and delete (then 404 20404)', () => {
    const a = store.create({ callSid: CALL, durationSeconds: 5, source: 'RecordVerb', transcribe: true, transcriptionText: 'one' });
    const b = store.create({ callSid: CALL, durationSeconds: 5, source: 'RecordVerb', transcribe: true, transcriptionText: 'two' });
    vi.advanceTimersByTime(150);
    expect(json('GET', '/Transcriptions.json').transcriptions.map((t: any) => t.transcription_text)).toEqual(['two', 'one']);
    expect(json('GET', `/Recordings/${a.sid}/Transcriptions.json`).transcriptions.map((t: any) => t.sid)).toEqual([a.transcriptionSid]);
    expect(json('GET', `/Recordings/${b.sid}/Transcriptions/${b.transcriptionSid}.json`)).toMatchObject({ sid: b.transcriptionSid, status: 'completed', recording_sid: b.sid });
    expect(errorOf(() => route('GET', `/Recordings/${a.sid}/Transcriptions/${b.transcriptionSid}.json`))).toMatchObject({ status: 404, code: 20404 });
    expect(route('DELETE', `/Transcriptions/${a.transcriptionSid}.json`).status).toBe(204);
    expect(errorOf(() => route('GET', `/Transcriptions/${a.transcriptionSid}.json`))).toMatchObject({ status: 404, code: 20404 });
    expect(errorOf(() => route('DELETE', `/Transcriptions/${a.transcriptionSid}.json`))).toMatchObject({ status: 404, code: 20404 });
    expect(route('DELETE', `/Recordings/${b.sid}/Transcriptions/${b.transcriptionSid}.json`).status).toBe(204);
    expect(json('GET', '/Transcriptions.json').transcriptions).toEqual([]);
  });
});

describe('recording routes', () => {
  it('lists newest first with CallSid, ConferenceSid and DateCreated filters', () => {
    const first = store.create({ callSid: CALL, durationSeconds: 1, source: 'RecordVerb' });
    vi.setSystemTime(new Date('2025-03-11T09:00:00Z'));
    const second = store.create({ callSid: OTHER_CALL, durationSeconds: 1, source: 'DialVerb' });
    const third = store.create({ callSid: OTHER_CALL, durationSeconds: 1, source: 'Conference', conferenceSid: CONFERENCE });
    const sids = (query: string) => json('GET', '/Recordings.json', query).recordings.map((r: any) => r.sid);
    expect(sids('')).toEqual([third.sid, second.sid, first.sid]);
    expect(sids(`CallSid=${CALL}`)).toEqual([first.sid]);
    expect(sids(`ConferenceSid=${CONFERENCE}`)).toEqual([third.sid]);
    expect(sids('DateCreated=2025-03-10')).toEqual([first.sid]);
    expect(sids('DateCreated>=2025-03-11')).toEqual([third.sid, second.sid]);
    expect(sids('DateCreated<=2025-03-10')).toEqual([first.sid]);
    expect(errorOf(() => route('GET', '/Recordings.json', 'DateCreated=yesterday'))).toMatchObject({ status: 400, code: 20001 });
  });

  it('pages with Twilio tokens that keep their place after a delete', () => {
    const made = Array.from({ length: 5 }, () => store.create({ callSid: CALL, durationSeconds: 1, source: 'RecordVerb' })).reverse();
    const page1 = json('GET', '/Recordings.json', 'PageSize=2');
    expect(page1.recordings.map((r: any) => r.sid)).toEqual([made[0]!.sid, made[1]!.sid]);
    expect(page1.next_page_uri).toContain(`PageToken=PA${made[1]!.sid}`);
    route('DELETE', `/Recordings/${made[1]!.sid}.json`);
    const page2 = json('GET', '/Recordings.json', new URL(`http://x${page1.next_page_uri}`).search);
    expect(page2.recordings.map((r: any) => r.sid)).toEqual([made[2]!.sid, made[3]!.sid]);
  });

  it('fetch, then DELETE answers 204 and the recording is gone (404 20404); IncludeSoftDeleted shows it as deleted', () => {
    const r = store.create({ callSid: CALL, durationSeconds: 4, source: 'RecordVerb', statusCallback: 'https://cb.test/del' });
    expect(json('GET', `/Recordings/${r.sid}.json`)).toMatchObject({ sid: r.sid, status: 'processing', duration: '4', price: null, price_unit: null, media_url: store.mediaUrl(r.sid) });
    vi.advanceTimersByTime(50);
    expect(json('GET', `/Recordings/${r.sid}.json`)).toMatchObject({ status: 'completed', price: '-0.00250', price_unit: 'USD' });
    expect(route('DELETE', `/Recordings/${r.sid}.json`)).toEqual({ status: 204 });
    const gone = errorOf(() => route('GET', `/Recordings/${r.sid}.json`));
    expect(gone).toMatchObject({ status: 404, code: 20404 });
    expect(gone.message).toBe(`The requested resource ${ROOT}/Recordings/${r.sid}.json was not found`);
    expect(errorOf(() => route('GET', `/Recordings/${r.sid}.wav`))).toMatchObject({ status: 404, code: 20404 });
    expect(errorOf(() => route('DELETE', `/Recordings/${r.sid}.json`))).toMatchObject({ status: 404, code: 20404 });
    expect(json('GET', '/Recordings.json').recordings).toEqual([]);
    expect(store.forCall(CALL)).toEqual([]);
    expect(json('GET', `/Recordings/${r.sid}.json`, 'IncludeSoftDeleted=true')).toMatchObject({ sid: r.sid, status: 'deleted' });
  });

  it('deleting a recording still processing stops its lifecycle and callbacks', () => {
    const r = store.create({ callSid: CALL, durationSeconds: 4, source: 'RecordVerb', statusCallback: 'https://cb.test/early', transcribe: true, transcriptionText: 'x', transcribeCallback: 'https://cb.test/early-tr' });
    route('DELETE', `/Recordings/${r.sid}.json`);
    vi.advanceTimersByTime(1000);
    expect(posted).toEqual([]);
    expect(store.getTranscription(r.transcriptionSid!)).toBeUndefined();
  });

  it('serves media: 404 while processing, then a WAV of silence (8 kHz mono 16-bit) of the duration, and MPEG frames for .mp3', () => {
    const r = store.create({ callSid: CALL, durationSeconds: 3, source: 'RecordVerb' });
    expect(errorOf(() => route('GET', `/Recordings/${r.sid}.wav`))).toMatchObject({ status: 404, code: 20404 });
    vi.advanceTimersByTime(50);
    for (const rest of [`/Recordings/${r.sid}.wav`, `/Recordings/${r.sid}`]) {
      const reply = route('GET', rest);
      const wav = reply.body as Buffer;
      expect(reply.headers).toEqual({ 'content-type': 'audio/x-wav', 'content-length': String(wav.length) });
      expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
      expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
      expect(wav.toString('ascii', 8, 16)).toBe('WAVEfmt ');
      expect([wav.readUInt16LE(20), wav.readUInt16LE(22), wav.readUInt32LE(24), wav.readUInt32LE(28), wav.readUInt16LE(32), wav.readUInt16LE(34)]).toEqual([1, 1, 8000, 16000, 2, 16]);
      expect(wav.toString('ascii', 36, 40)).toBe('data');
      expect(wav.readUInt32LE(40)).toBe(3 * 16000);
      expect(wav.length).toBe(44 + 3 * 16000);
      expect(wav.subarray(44).every((b) => b === 0)).toBe(true);
    }
    const mp3Reply = route('GET', `/Recordings/${r.sid}.mp3`);
    const mp3 = mp3Reply.body as Buffer;
    expect(mp3Reply.headers?.['content-type']).toBe('audio/mpeg');
    const frames = mp3.length / MP3_FRAME_BYTES;
    expect(Number.isInteger(frames)).toBe(true);
    // ⌈3 s / (1152 / 44100 s)⌉ frames, each starting with the sync word and a valid header.
    expect(frames).toBe(Math.ceil((3 * 44100) / 1152));
    for (let i = 0; i < frames; i += 1) expect([...mp3.subarray(i * MP3_FRAME_BYTES, i * MP3_FRAME_BYTES + 4)]).toEqual([0xff, 0xfb, 0x10, 0xc0]);
  });

  it('caps the media at MAX_AUDIO_SECONDS', () => {
    const r = store.create({ callSid: CALL, durationSeconds: 3600, source: 'RecordVerb' });
    vi.advanceTimersByTime(50);
    expect((route('GET', `/Recordings/${r.sid}.wav`).body as Buffer).length).toBe(44 + MAX_AUDIO_SECONDS * 16000);
  });

  it('the Calls subresource lists and fetches a call\'s recordings in the call_recording shape', () => {
    const mine = store.create({ callSid: CALL, durationSeconds: 2, source: 'OutboundAPI' });
    store.create({ callSid: OTHER_CALL, durationSeconds: 2, source: 'OutboundAPI' });
    const list = json('GET', `/Calls/${CALL}/Recordings.json`);
    expect(list.recordings.map((r: any) => r.sid)).toEqual([mine.sid]);
    expect(list.recordings[0]).toMatchObject({ track: 'both', uri: `${ROOT}/Calls/${CALL}/Recordings/${mine.sid}.json` });
    expect(list.recordings[0]).not.toHaveProperty('media_url');
    expect(json('GET', `/Calls/${CALL}/Recordings/${mine.sid}.json`)).toMatchObject({ sid: mine.sid, call_sid: CALL });
    expect(errorOf(() => route('GET', `/Calls/${OTHER_CALL}/Recordings/${mine.sid}.json`))).toMatchObject({ status: 404, code: 20404 });
    expect(route('DELETE', `/Calls/${CALL}/Recordings/${mine.sid}.json`).status).toBe(204);
    expect(json('GET', `/Calls/${CALL}/Recordings.json`).recordings).toEqual([]);
  });

  it('leaves other paths and methods to the router (undefined)', () => {
    const r = store.create({ callSid: CALL, durationSeconds: 2, source: 'OutboundAPI' });
    const q = new Map();
    expect(recordingsRoute(store, SANDBOX_ACCOUNT_SID, 'POST', `/Calls/${CALL}/Recordings.json`, q, q)).toBeUndefined();
    expect(recordingsRoute(store, SANDBOX_ACCOUNT_SID, 'POST', '/Recordings.json', q, q)).toBeUndefined();
    expect(recordingsRoute(store, SANDBOX_ACCOUNT_SID, 'POST', `/Recordings/${r.sid}.json`, q, q)).toBeUndefined();
    expect(recordingsRoute(store, SANDBOX_ACCOUNT_SID, 'GET', '/Messages.json', q, q)).toBeUndefined();
  });
});

describe('signed callbacks through the real webhook sender', () => {
  let receiver: Server;
  let receiverUrl: string;
  const received: Array<{ path: string; params: Record<string, string>; signature: string }> = [];
  let arrived: () => void = () => {};
  /** Resolves once `count` callbacks have arrived (the test's own timeout bounds it). */
  const receivedCount = (count: number) =>
    new Promise<void>((resolve) => {
      arrived = () => received.length >= count && resolve();
      arrived();
    });
  let sender: WebhookSender;
  let signedStore: RecordingStore;

  beforeEach(async () => {
    vi.useRealTimers();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ path: req.url ?? '', params: Object.fromEntries(new URLSearchParams(body)), signature: String(req.headers['x-twilio-signature'] ?? '') });
        res.writeHead(204).end();
        arrived();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    sender = new WebhookSender('secret-token', () => {});
    signedStore = new RecordingStore(createAccount(SANDBOX_ACCOUNT_SID, 'secret-token', TEST_SENDER), sender, { recordingReadyMs: 5, transcriptionReadyMs: 5 });
  });
  afterEach(async () => {
    signedStore.close();
    sender.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('recording and transcription callbacks carry signatures validateRequest accepts', { timeout: 5000 }, async () => {
    const r = signedStore.create({
      callSid: CALL, durationSeconds: 2, source: 'RecordVerb', transcribe: true, transcriptionText: 'hi there',
      statusCallback: `${receiverUrl}/rec`, transcribeCallback: `${receiverUrl}/tr`,
    });
    await receivedCount(2);
    expect(received.map((c) => c.path).sort()).toEqual(['/rec', '/tr']);
    for (const c of received) {
      expect(twilio.validateRequest('secret-token', c.signature, `${receiverUrl}${c.path}`, c.params)).toBe(true);
      expect(twilio.validateRequest('wrong-token', c.signature, `${receiverUrl}${c.path}`, c.params)).toBe(false);
    }
    expect(received.find((c) => c.path === '/rec')!.params).toMatchObject({ RecordingSid: r.sid, RecordingStatus: 'completed' });
    expect(received.find((c) => c.path === '/tr')!.params).toMatchObject({ TranscriptionText: 'hi there', TranscriptionStatus: 'completed' });
  });
});
