/** Guardrails: caps used against their limits, spend today against the spend cap, refusals by rule. */
import { count, h, metric, percent, replace, table, time, usd } from '../dom.js';
import type { Cap, GuardrailsPanel } from '../types.js';

function capRow(name: string, label: string, cap: Cap | undefined, money = false) {
  if (!cap) return null;
  const shown = (n: number | null) => (money ? usd(n) : count(n));
  return h(
    'div',
    { class: 'cap', 'data-cap': name },
    h('div', { class: 'cap-label' }, label),
    h('meter', { min: 0, max: Math.max(cap.limit, 0.0001), value: cap.used ?? 0, high: cap.limit * 0.8, optimum: 0, 'aria-label': label }),
    h(
      'div',
      { class: 'cap-values' },
      h('span', { 'data-field': 'used', 'data-value': cap.used ?? '' }, shown(cap.used)),
      ' of ',
      h('span', { 'data-field': 'limit', 'data-value': cap.limit }, shown(cap.limit)),
      ` (${percent(cap.share)}) · resets ${time(cap.resets_at)}`,
    ),
  );
}

export function renderGuardrails(root: HTMLElement, data: GuardrailsPanel): void {
  replace(
    root,
    data.dry_run ? h('p', { class: 'warning' }, 'Dry-run mode: sends are checked, nothing is sent.') : null,
    data.caps
      ? h(
          'div',
          { class: 'caps' },
          capRow('messages_this_hour', 'Messages this hour', data.caps.messages_this_hour),
          capRow('messages_today', 'Messages today', data.caps.messages_today),
          capRow('calls_today', 'Calls today', data.caps.calls_today),
          capRow('spend_today_usd', 'Spend today (estimated)', data.caps.spend_today_usd, true),
          h('p', { class: 'note' }, data.caps.windows),
        )
      : h('p', { class: 'empty' }, 'The caps could not be read.'),
    h('h3', {}, 'Refusals by rule'),
    h('dl', { class: 'metrics small' }, metric('failed_calls', 'Failed tool calls', data.refusals.failed_calls, count(data.refusals.failed_calls)), metric('campaign_skips_opt_out', 'Campaign rows skipped (opt-out)', data.campaign_skips.opt_out, count(data.campaign_skips.opt_out)), metric('campaign_skips_policy', 'Campaign rows skipped (policy)', data.campaign_skips.policy, count(data.campaign_skips.policy))),
    data.refusals.by_rule.length === 0
      ? h('p', { class: 'empty' }, 'No refusals in this window.')
      : table(
          ['Rule', 'Refusals', 'Latest', 'Latest reason'],
          data.refusals.by_rule.map((r) => [h('code', {}, r.rule), h('span', { 'data-rule': r.rule, 'data-value': r.count }, count(r.count)), time(r.latest_at), r.example]),
          { 'data-table': 'refusals' },
        ),
  );
}
