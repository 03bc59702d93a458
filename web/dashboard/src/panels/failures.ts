/** Failures: the top error codes with their plain meaning and next step, by destination country and by sender. */
import { count, h, metric, percent, replace, table } from '../dom.js';
import type { BreakdownRow, FailuresPanel } from '../types.js';

const breakdown = (title: string, what: string, rows: BreakdownRow[], name: string) =>
  h(
    'div',
    { class: 'breakdown' },
    h('h3', {}, title),
    rows.length === 0
      ? h('p', { class: 'empty' }, 'Nothing sent in this window.')
      : table(
          [what, 'Sent', 'Delivered', 'Failed', 'Failure rate'],
          rows.map((r) => [h('span', { 'data-key': r.key }, r.key), count(r.sent), count(r.delivered), h('span', { 'data-failed': r.failed }, count(r.failed)), percent(r.failure_rate)]),
          { 'data-table': name },
        ),
  );

export function renderFailures(root: HTMLElement, data: FailuresPanel): void {
  replace(
    root,
    h('dl', { class: 'metrics' }, metric('failed_total', 'Failed or undelivered', data.failed, count(data.failed))),
    h('h3', {}, 'Top error codes'),
    data.top_errors.length === 0
      ? h('p', { class: 'empty' }, 'No failures in this window.')
      : table(
          ['Code', 'Count', 'What it means', 'What to do'],
          data.top_errors.map((e) => [h('code', { 'data-error-code': e.error_code }, String(e.error_code)), h('span', { 'data-error-count': e.error_code }, count(e.count)), e.meaning ?? 'Unknown code', e.next_step ?? '–']),
          { 'data-table': 'errors' },
        ),
    h('div', { class: 'columns' }, breakdown('By destination country', 'Country', data.by_country, 'by_country'), breakdown('By sender', 'Sender', data.by_sender, 'by_sender')),
  );
}
