/**
 * Builds the view from show_insights' figures with DOM calls only. Every string that came
 * from outside (campaign names, error messages, countries) is set as text, never parsed as
 * HTML: the page's Trusted Types policy makes an innerHTML assignment throw anyway.
 */
import type { InsightsView } from '../../../src/tools/insights-view-schema.js';

type Props = { class?: string; testid?: string; title?: string };

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.testid) node.dataset.testid = props.testid;
  if (props.title) node.title = props.title;
  for (const child of children) node.append(child); // a string becomes a Text node
  return node;
}

const integer = new Intl.NumberFormat('en-US');
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 4 });

function seconds(s: number | null): string {
  if (s === null) return '—';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function tile(label: string, value: string, testid: string, tone = ''): HTMLElement {
  return el('div', { class: `tile ${tone}`.trim(), testid }, el('span', { class: 'value' }, value), el('span', { class: 'label' }, label));
}

/** One horizontal bar split into parts proportional to their counts, with a legend. */
function stackedBar(parts: Array<{ label: string; count: number; tone: string }>, testid: string): HTMLElement {
  const total = parts.reduce((sum, p) => sum + p.count, 0);
  const bar = el('div', { class: 'bar', testid });
  bar.setAttribute('role', 'img');
  bar.setAttribute('aria-label', parts.map((p) => `${p.label} ${p.count}`).join(', '));
  for (const part of parts) {
    if (part.count === 0) continue;
    const segment = el('span', { class: `segment ${part.tone}`, title: `${part.label}: ${part.count}` });
    segment.style.width = `${(part.count / total) * 100}%`;
    bar.append(segment);
  }
  const legend = el('div', { class: 'legend' });
  for (const part of parts) legend.append(el('span', { class: `key ${part.tone}` }, `${part.label} ${integer.format(part.count)}`));
  return el('div', {}, bar, legend);
}

function deliverySection(d: InsightsView['delivery']): HTMLElement {
  const section = el('section', { testid: 'delivery' }, el('h2', {}, 'Delivery'));
  section.append(
    el(
      'div',
      { class: 'tiles' },
      tile('sent', integer.format(d.sent), 'sent'),
      tile('delivered', integer.format(d.delivered), 'delivered', 'good'),
      tile('not delivered', integer.format(d.failed + d.undelivered), 'failed', d.failed + d.undelivered > 0 ? 'bad' : ''),
      tile('pending', integer.format(d.pending), 'pending'),
      tile('delivery rate', d.delivery_rate === null ? '—' : `${(d.delivery_rate * 100).toFixed(1)}%`, 'delivery-rate'),
      tile('median to delivered', seconds(d.median_seconds_to_delivered), 'median'),
      tile('estimated cost', usd.format(d.estimated_cost_usd), 'cost'),
      tile('replies', integer.format(d.replies_received), 'replies'),
      tile('opt-outs', integer.format(d.opt_outs_gained), 'opt-outs'),
    ),
  );
  if (d.sent === 0) {
    section.append(el('p', { class: 'empty' }, 'Nothing was sent in this window.'));
    return section;
  }
  section.append(
    stackedBar(
      [
        { label: 'delivered', count: d.delivered, tone: 'good' },
        { label: 'undelivered', count: d.undelivered, tone: 'warn' },
        { label: 'failed', count: d.failed, tone: 'bad' },
        { label: 'pending', count: d.pending, tone: 'muted' },
      ],
      'delivery-bar',
    ),
  );
  if (d.top_errors.length > 0) {
    const list = el('ul', { class: 'errors', testid: 'top-errors' });
    for (const e of d.top_errors) {
      list.append(
        el(
          'li',
          {},
          el('strong', {}, `${e.error_code}`),
          ` × ${integer.format(e.count)}`,
          ...(e.meaning ? [el('span', { class: 'meaning' }, ` — ${e.meaning}`)] : []),
          ...(e.next_step ? [el('div', { class: 'next' }, e.next_step)] : []),
        ),
      );
    }
    section.append(el('h3', {}, 'Why messages failed'), list);
  }
  const countries = Object.entries(d.by_country);
  if (countries.length > 0) {
    const body = el('tbody');
    for (const [country, t] of countries) {
      body.append(el('tr', {}, el('td', {}, country), el('td', {}, integer.format(t.sent)), el('td', {}, integer.format(t.delivered)), el('td', {}, integer.format(t.failed))));
    }
    const head = el('thead', {}, el('tr', {}, el('th', {}, 'country'), el('th', {}, 'sent'), el('th', {}, 'delivered'), el('th', {}, 'failed')));
    section.append(el('h3', {}, 'By country'), el('table', { testid: 'by-country' }, head, body));
  }
  return section;
}

function chips(values: Record<string, number>, testid: string): HTMLElement {
  const row = el('div', { class: 'chips', testid });
  for (const [key, n] of Object.entries(values)) row.append(el('span', { class: 'chip' }, `${key.replace(/_/g, ' ')} ${integer.format(n)}`));
  return row;
}

function campaignCard(c: InsightsView['campaigns'][number]): HTMLElement {
  const progress = el('progress', { testid: 'campaign-progress' });
  progress.max = Math.max(c.recipients, 1);
  progress.value = c.done;
  const card = el(
    'article',
    { class: 'campaign', testid: 'campaign' },
    el('header', {}, el('h3', { class: 'name', testid: 'campaign-name' }, c.name), el('span', { class: `state ${c.state}`, testid: 'campaign-state' }, c.state), el('span', { class: 'channel' }, c.channel)),
    progress,
    el('p', { class: 'done', testid: 'campaign-done' }, `${integer.format(c.done)} of ${integer.format(c.recipients)} recipients done`),
    chips(c.counts, 'campaign-counts'),
  );
  if (Object.keys(c.delivery).length > 0) card.append(el('p', { class: 'sub' }, 'delivery of the sent:'), chips(c.delivery, 'campaign-delivery'));
  if (c.error) card.append(el('p', { class: 'error', testid: 'campaign-error' }, c.error));
  return card;
}

function campaignsSection(campaigns: InsightsView['campaigns']): HTMLElement {
  const section = el('section', { testid: 'campaigns' }, el('h2', {}, 'Campaigns'));
  if (campaigns.length === 0) section.append(el('p', { class: 'empty' }, 'No campaign ran in this window.'));
  for (const c of campaigns) section.append(campaignCard(c));
  return section;
}

export function renderInsights(root: HTMLElement, view: InsightsView, controls?: HTMLElement): void {
  root.replaceChildren(
    el('header', { class: 'top' }, el('h1', {}, 'Messaging insights'), el('span', { class: 'window', testid: 'window' }, view.window.label), ...(controls ? [controls] : [])),
    deliverySection(view.delivery),
    campaignsSection(view.campaigns),
  );
}

/** A failed call or an unreadable result: the message as text, and what to do next when known. */
export function renderProblem(root: HTMLElement, message: string, nextStep?: string, controls?: HTMLElement): void {
  root.replaceChildren(
    el('header', { class: 'top' }, el('h1', {}, 'Messaging insights'), ...(controls ? [controls] : [])),
    el('p', { class: 'error', testid: 'error' }, message),
    ...(nextStep ? [el('p', { class: 'next', testid: 'next-step' }, nextStep)] : []),
  );
}

export function renderStatus(root: HTMLElement, text: string): void {
  root.replaceChildren(el('p', { class: 'status', testid: 'status' }, text));
}

/** Period buttons and a refresh, shown only when the host can run the tool again for the view. */
export function periodControls(current: string | undefined, onPeriod: (period: string) => void, onRefresh: () => void): HTMLElement {
  const nav = el('nav', { class: 'periods', testid: 'periods' });
  const periods: Array<[string, string]> = [
    ['today', 'Today'],
    ['yesterday', 'Yesterday'],
    ['this_month', 'This month'],
    ['last_month', 'Last month'],
  ];
  for (const [period, label] of periods) {
    const button = el('button', { testid: `period-${period}` }, label);
    button.type = 'button';
    button.setAttribute('aria-pressed', String(period === current));
    button.addEventListener('click', () => onPeriod(period));
    nav.append(button);
  }
  const refresh = el('button', { testid: 'refresh', title: 'Refresh' }, 'Refresh');
  refresh.type = 'button';
  refresh.addEventListener('click', onRefresh);
  nav.append(refresh);
  return nav;
}
