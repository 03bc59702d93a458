/**
 * TEMPORARY STUB (sandbox-voice branch) with exactly the API the media helper writes in its
 * own branch; replaced by the real module on merge. It keeps recordings in memory and
 * routes nothing, so the call code compiles and its tests run.
 */
import type { Account } from './account.js';
import type { CallbackPoster } from './messages.js';
import type { Reply } from './router.js';
import { newSid, type Params } from './wire.js';

export interface RecordingInput {
  callSid: string;
  durationSeconds: number;
  source: 'RecordVerb' | 'OutboundAPI' | 'DialVerb' | 'Conference';
  transcribe?: boolean;
  transcriptionText?: string;
  statusCallback?: string | null;
  transcribeCallback?: string | null;
  conferenceSid?: string | null;
}

export interface SandboxRecording {
  sid: string;
  callSid: string;
  durationSeconds: number;
  status: string;
  source: RecordingInput['source'];
  transcriptionText: string | null;
}

export class RecordingStore {
  private readonly recordings: SandboxRecording[] = [];

  constructor(
    private readonly account: Account,
    _webhooks: CallbackPoster,
    _timing: { recordingReadyMs: number; transcriptionReadyMs: number },
  ) {}

  create(input: RecordingInput): SandboxRecording {
    const recording: SandboxRecording = {
      sid: newSid('RE'),
      callSid: input.callSid,
      durationSeconds: input.durationSeconds,
      status: 'completed',
      source: input.source,
      transcriptionText: input.transcriptionText ?? null,
    };
    this.recordings.push(recording);
    return recording;
  }

  mediaUrl(sid: string): string {
    return `/2010-04-01/Accounts/${this.account.sid}/Recordings/${sid}`;
  }

  forCall(callSid: string): SandboxRecording[] {
    return this.recordings.filter((r) => r.callSid === callSid);
  }

  close(): void {}
}

export function recordingsRoute(_store: RecordingStore, _accountSid: string, _method: string, _rest: string, _query: Params, _form: Params): Reply | undefined {
  return undefined;
}
