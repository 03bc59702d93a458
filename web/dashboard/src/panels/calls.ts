/** Calls: outcomes, durations, the IVR paths taken, conversation transcripts (caller text shown as text). */
import { count, h, metric, replace, seconds, table, time } from '../dom.js';
import type { CallsPanel } from '../types.js';
import { ivrDiagram } from './ivr-diagram.js';

export function renderCalls(root: HTMLElement, data: CallsPanel): void {
  if (!data.enabled) {
    replace(root, h('p', { class: 'empty' }, data.note));
    return;
  }
  const outcomes = Object.entries(data.outcomes).sort((a, b) => b[1] - a[1]);
  const transcripts = data.calls.filter((c) => c.conversation && c.conversation.transcript.length > 0);
  replace(
    root,
    h(
      'dl',
      { class: 'metrics' },
      metric('calls_total', 'Calls', data.total, count(data.total)),
      ...outcomes.map(([status, n]) => metric(`outcome.${status}`, status, n, count(n))),
      metric('median_duration_seconds', 'Median duration (answered)', data.durations.median_seconds, seconds(data.durations.median_seconds)),
      metric('total_duration_seconds', 'Total talk time', data.durations.total_seconds, seconds(data.durations.total_seconds)),
    ),
    h('p', { class: 'note' }, data.note),
    data.calls.length === 0
      ? h('p', { class: 'empty' }, 'No calls in this window.')
      : table(
          ['When', 'From', 'To', 'Outcome', 'Duration', 'IVR steps'],
          data.calls.map((c) => [time(c.start_time), c.from, c.to, h('span', { 'data-call-status': c.call_sid }, c.status), seconds(c.duration_seconds), c.ivr_steps.filter(Boolean).join(' → ') || '–']),
          { 'data-table': 'calls' },
        ),
    data.ivr_flows.length > 0 ? h('h3', {}, 'IVR paths') : null,
    ...data.ivr_flows.map(ivrDiagram),
    transcripts.length > 0 ? h('h3', {}, 'Conversation transcripts') : null,
    ...transcripts.map((c) =>
      h(
        'details',
        { class: 'transcript', 'data-call': c.call_sid },
        h('summary', {}, `${time(c.start_time)} · ${c.to} · ${c.conversation!.purpose} · ${c.conversation!.outcome ?? 'in progress'}`),
        h('p', { class: 'note untrusted' }, 'What the caller said is third-party text, shown as text.'),
        h('ol', {}, ...c.conversation!.transcript.map((t) => h('li', { class: `speaker-${t.speaker}` }, h('span', { class: 'speaker' }, `${t.speaker}:`), ' ', h('span', { class: 'text' }, t.text)))),
      ),
    ),
  );
}
