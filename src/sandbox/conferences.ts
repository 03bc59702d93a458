/**
 * TEMPORARY STUB (sandbox-voice branch) with exactly the API the media helper writes in its
 * own branch; replaced by the real module on merge. A joined call stays until leave() or
 * close(); nothing is routed.
 */
import type { Account } from './account.js';
import type { CallbackPoster } from './messages.js';
import type { RecordingStore } from './recordings.js';
import type { Reply } from './router.js';
import { newSid, type Params } from './wire.js';

export class ConferenceStore {
  private readonly byName = new Map<string, string>();
  private readonly members = new Map<string, (how: 'removed' | 'ended') => void>();

  constructor(_account: Account, _webhooks: CallbackPoster, _recordings: RecordingStore) {}

  join(
    friendlyName: string,
    callSid: string,
    _options: { muted?: boolean; startConferenceOnEnter?: boolean; endConferenceOnExit?: boolean; record?: boolean; statusCallback?: string | null },
  ): { conferenceSid: string; left: Promise<'removed' | 'ended'> } {
    let conferenceSid = this.byName.get(friendlyName);
    if (!conferenceSid) {
      conferenceSid = newSid('CF');
      this.byName.set(friendlyName, conferenceSid);
    }
    const left = new Promise<'removed' | 'ended'>((resolve) => this.members.set(callSid, resolve));
    return { conferenceSid, left };
  }

  leave(callSid: string): void {
    this.members.delete(callSid);
  }

  close(): void {
    for (const end of this.members.values()) end('ended');
    this.members.clear();
  }
}

export function conferencesRoute(_store: ConferenceStore, _accountSid: string, _method: string, _rest: string, _query: Params, _form: Params): Reply | undefined {
  return undefined;
}
