/**
 * Statuses only move forward. Twilio's callbacks can arrive out of order (a late "sent"
 * after "delivered"); the late one is kept in the history but does not become current.
 * Terminal statuses share the top rank, so the first terminal status wins.
 */
const MESSAGE_RANK: Record<string, number> = {
  scheduled: 0,
  accepted: 1,
  queued: 1,
  sending: 2,
  sent: 3,
  receiving: 2,
  received: 3,
  delivered: 4,
  undelivered: 4,
  failed: 4,
  canceled: 4,
  partially_delivered: 4,
  read: 5,
};

const CALL_RANK: Record<string, number> = {
  queued: 0,
  initiated: 1,
  ringing: 2,
  'in-progress': 3,
  completed: 4,
  busy: 4,
  failed: 4,
  'no-answer': 4,
  canceled: 4,
};

const TERMINAL_RANK = 4;

/**
 * Whether `next` replaces `current` as the current status. An unknown status (one Twilio
 * adds later) is kept in the history but only becomes current when nothing came before it.
 */
export function statusAdvances(kind: 'message' | 'call', current: string | undefined, next: string): boolean {
  if (current === undefined) return true;
  const rank = kind === 'message' ? MESSAGE_RANK : CALL_RANK;
  const from = rank[current] ?? -1;
  const to = rank[next] ?? -1;
  // "read" follows "delivered" only: a failed, undelivered or canceled message stays so.
  if (kind === 'message' && from === TERMINAL_RANK && current !== 'delivered') return false;
  // "read" after "delivered" is progress; two different terminal statuses are not.
  return to > from;
}
