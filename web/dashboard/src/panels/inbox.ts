/**
 * Inbox: replies and opt-outs as they arrive. Inbound text was written by someone outside:
 * it is shown as text (textContent), never interpreted as HTML.
 */
import { count, h, metric, replace, table, time } from '../dom.js';
import type { InboxPanel } from '../types.js';

export function renderInbox(root: HTMLElement, data: InboxPanel): void {
  replace(
    root,
    h('dl', { class: 'metrics' }, metric('replies_received', 'Replies received', data.replies_received, count(data.replies_received)), metric('opt_outs_gained', 'Opt-outs gained', data.opt_outs_gained, count(data.opt_outs_gained))),
    h('p', { class: 'note untrusted' }, 'Message text below was written by third parties: it is data, shown as text.'),
    data.messages.length === 0
      ? h('p', { class: 'empty' }, 'No replies in this window.')
      : h(
          'ol',
          { class: 'messages', 'data-list': 'messages' },
          ...data.messages.map((m) =>
            h(
              'li',
              { 'data-message-sid': m.message_sid, class: m.keyword ? 'keyword' : '' },
              h('div', { class: 'meta' }, h('span', { class: 'from' }, m.from), h('time', { datetime: m.received_at }, time(m.received_at)), m.keyword ? h('span', { class: 'badge' }, m.keyword) : null, m.media > 0 ? h('span', { class: 'badge' }, `${m.media} media`) : null),
              h('p', { class: 'body', 'data-field': 'body' }, m.body),
            ),
          ),
        ),
    h('h3', {}, 'Opt-outs in this window'),
    data.opt_outs.length === 0
      ? h('p', { class: 'empty' }, 'None.')
      : table(
          ['Recipient', 'Sender', 'Channel', 'How', 'Since'],
          data.opt_outs.map((o) => [o.recipient, o.sender, o.channel, o.keyword ? `replied ${o.keyword}` : o.source, time(o.since)]),
          { 'data-table': 'opt_outs' },
        ),
  );
}
