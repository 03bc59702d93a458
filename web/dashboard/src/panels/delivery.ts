/** Delivery: sent → delivered / undelivered / failed over the window, the rate, time to delivery. */
import uPlot from 'uplot';
import { h, metric, count, percent, replace, seconds, usd } from '../dom.js';
import type { DeliveryPanel } from '../types.js';

const SERIES = [
  { key: 'sent', label: 'Sent', stroke: '#4b5563' },
  { key: 'delivered', label: 'Delivered', stroke: '#15803d' },
  { key: 'undelivered', label: 'Undelivered', stroke: '#b45309' },
  { key: 'failed', label: 'Failed', stroke: '#b91c1c' },
] as const;

let chart: uPlot | undefined;
let chartShape = '';

export function renderDelivery(root: HTMLElement, data: DeliveryPanel): void {
  const metrics = h(
    'dl',
    { class: 'metrics' },
    metric('sent', 'Sent', data.sent, count(data.sent)),
    metric('delivered', 'Delivered', data.delivered, count(data.delivered)),
    metric('undelivered', 'Undelivered', data.undelivered, count(data.undelivered)),
    metric('failed', 'Failed', data.failed, count(data.failed)),
    metric('pending', 'Pending', data.pending, count(data.pending)),
    metric('delivery_rate', 'Delivery rate', data.delivery_rate, percent(data.delivery_rate)),
    metric('median_seconds_to_delivered', 'Median time to delivered', data.median_seconds_to_delivered, seconds(data.median_seconds_to_delivered)),
    metric('estimated_cost_usd', 'Estimated cost', data.estimated_cost_usd, usd(data.estimated_cost_usd)),
  );
  let plot = root.querySelector<HTMLElement>('.chart');
  const keep = plot && chart;
  if (!plot) plot = h('div', { class: 'chart', role: 'img', 'aria-label': 'Messages sent and their outcomes over time' });
  const note = h('p', { class: 'note' }, `Window: ${data.window.label ?? ''}. Chart: this server's messages by when they were sent, in ${seconds(data.timeline.bucket_seconds)} buckets. ${data.sources.note}`);
  if (!keep) replace(root, metrics, plot, note);
  else {
    root.querySelector('.metrics')?.replaceWith(metrics);
    root.querySelector('.note')?.replaceWith(note);
  }
  drawChart(plot, data);
}

function drawChart(el: HTMLElement, data: DeliveryPanel): void {
  const xs = data.timeline.buckets.map((b) => Date.parse(b.start) / 1000);
  const columns: uPlot.AlignedData = [xs, ...SERIES.map((s) => data.timeline.buckets.map((b) => b[s.key]))];
  const shape = `${data.timeline.bucket_seconds}:${xs.length}:${xs[0] ?? ''}`;
  if (chart && chartShape === shape && chart.root.isConnected) {
    chart.setData(columns);
    return;
  }
  chart?.destroy();
  chartShape = shape;
  const width = Math.max(320, el.clientWidth || el.parentElement?.clientWidth || 640);
  chart = new uPlot(
    {
      width,
      height: 220,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      series: [{}, ...SERIES.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, points: { show: true, size: 5 } }))],
      axes: [{}, { label: 'messages' }],
      legend: { show: true },
    },
    columns,
    el,
  );
}

/** Keeps the chart as wide as its panel. */
export function resizeDelivery(): void {
  const el = chart?.root.parentElement;
  if (chart && el) chart.setSize({ width: Math.max(320, el.clientWidth), height: 220 });
}
