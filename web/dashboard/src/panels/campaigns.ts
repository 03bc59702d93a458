/**
 * Campaigns: each one's progress per state, throughput, cost so far against the estimate,
 * and pause / resume / cancel — the same service call as control_campaign, audited with
 * the dashboard as the client. The new state arrives through the live stream.
 */
import { api } from '../api.js';
import { count, h, metric, replace, time, usd } from '../dom.js';
import type { Campaign, CampaignsPanel } from '../types.js';

type Action = 'pause' | 'resume' | 'cancel';
/** What the person last did per campaign, kept across re-renders (the stream redraws the panel). */
const said = new Map<string, string>();

const STATE_ORDER = ['pending', 'held', 'sending', 'sent', 'outcome_unknown', 'failed_send', 'skipped_opt_out', 'skipped_policy', 'invalid', 'duplicate', 'canceled'];

function button(campaign: Campaign, action: Action, label: string): HTMLButtonElement {
  const b = h('button', { type: 'button', 'data-action': action, 'data-campaign': campaign.campaign_id }, label);
  b.addEventListener('click', () => void act(b, campaign, action));
  return b;
}

async function act(b: HTMLButtonElement, campaign: Campaign, action: Action): Promise<void> {
  if (action === 'cancel' && b.dataset.armed !== 'yes') {
    // Cancel cannot be undone: a second press confirms it.
    b.dataset.armed = 'yes';
    b.textContent = 'Confirm cancel';
    return;
  }
  b.disabled = true;
  const status = b.closest('article')?.querySelector<HTMLElement>('.action-status');
  try {
    const result = await api.control(campaign.campaign_id, action);
    said.set(campaign.campaign_id, `${action === 'pause' ? 'Paused' : action === 'resume' ? 'Resumed' : 'Canceled'}: now ${String(result.state)}.`);
  } catch (error) {
    said.set(campaign.campaign_id, `Could not ${action}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    if (status) status.textContent = said.get(campaign.campaign_id) ?? '';
    b.disabled = false;
  }
}

function card(c: Campaign, controls: boolean): HTMLElement {
  const states = STATE_ORDER.filter((s) => (c.counts[s] ?? 0) > 0);
  const active = controls && (c.state === 'running' || c.state === 'paused');
  return h(
    'article',
    { class: `campaign state-${c.state}`, 'data-campaign-id': c.campaign_id, 'data-state': c.state },
    h('header', {}, h('h3', {}, c.name), h('span', { class: 'badge', 'data-field': 'state' }, c.state)),
    h('progress', { max: Math.max(1, c.total), value: c.done, 'aria-label': 'recipients done' }),
    h('p', { class: 'note' }, `${count(c.done)} of ${count(c.total)} recipients done · started ${time(c.created_at)}`),
    h(
      'dl',
      { class: 'metrics small' },
      ...states.map((s) => metric(`count.${s}`, s.replace(/_/g, ' '), c.counts[s] ?? 0, count(c.counts[s] ?? 0))),
    ),
    h(
      'dl',
      { class: 'metrics small' },
      metric('sent_last_minute', 'Sent in the last minute', c.throughput.sent_last_minute, count(c.throughput.sent_last_minute)),
      metric('paced_per_second', 'Paced at (per second)', c.throughput.paced_per_second, c.throughput.paced_per_second === 0 ? 'no limit' : String(c.throughput.paced_per_second)),
      metric('spent_usd', 'Cost so far', c.spent_usd, usd(c.spent_usd)),
      metric('estimated_cost_usd', 'Estimate', c.estimated_cost_usd, usd(c.estimated_cost_usd)),
      metric('replies', 'Replies', c.replies, count(c.replies)),
      metric('opt_outs', 'Opt-outs', c.opt_outs, count(c.opt_outs)),
    ),
    h('meter', { min: 0, max: Math.max(c.estimated_cost_usd, c.spent_usd, 0.0001), value: c.spent_usd, 'aria-label': 'cost so far against the estimate' }),
    Object.keys(c.delivery).length > 0 ? h('p', { class: 'note', 'data-field': 'delivery' }, `Delivery of the sent: ${Object.entries(c.delivery).map(([k, v]) => `${k} ${v}`).join(', ')}`) : null,
    c.errors.length > 0 ? h('ul', { class: 'errors' }, ...c.errors.map((e) => h('li', {}, `${e.error_code ?? 'no code'} × ${e.count}: ${e.meaning ?? e.example}`))) : null,
    c.error ? h('p', { class: 'error' }, c.error) : null,
    active
      ? h(
          'div',
          { class: 'actions' },
          c.state === 'running' ? button(c, 'pause', 'Pause') : button(c, 'resume', 'Resume'),
          button(c, 'cancel', 'Cancel'),
          h('span', { class: 'action-status', role: 'status' }, said.get(c.campaign_id) ?? ''),
        )
      : h('p', { class: 'action-status', role: 'status' }, said.get(c.campaign_id) ?? ''),
  );
}

export function renderCampaigns(root: HTMLElement, data: CampaignsPanel): void {
  replace(
    root,
    data.controls_note ? h('p', { class: 'note' }, data.controls_note) : null,
    data.campaigns.length === 0 ? h('p', { class: 'empty' }, 'No campaign is running, paused, or was started in this window.') : h('div', { class: 'cards' }, ...data.campaigns.map((c) => card(c, data.controls))),
  );
}
