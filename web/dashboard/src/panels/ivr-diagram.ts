/**
 * A small flow diagram of the paths callers took through an IVR flow: one column per step
 * depth, each move an arrow labelled with the share of the callers at its source who took
 * it. Drawn as SVG with DOM calls (presentation attributes, no inline styles).
 */
import { h, svg } from '../dom.js';
import type { IvrDiagram } from '../types.js';

const NODE_W = 150;
const NODE_H = 42;
const COL_GAP = 90;
const ROW_GAP = 22;
const PAD = 12;

export function ivrDiagram(d: IvrDiagram): HTMLElement {
  const columns = new Map<number, string[]>();
  for (const n of d.nodes) columns.set(n.depth, [...(columns.get(n.depth) ?? []), n.id]);
  const place = new Map<string, { x: number; y: number }>();
  const depths = [...columns.keys()].sort((a, b) => a - b);
  depths.forEach((depth, col) => columns.get(depth)!.forEach((id, row) => place.set(id, { x: PAD + col * (NODE_W + COL_GAP), y: PAD + row * (NODE_H + ROW_GAP) })));
  const width = PAD * 2 + depths.length * NODE_W + Math.max(0, depths.length - 1) * COL_GAP;
  const height = PAD * 2 + Math.max(1, ...[...columns.values()].map((c) => c.length)) * (NODE_H + ROW_GAP) - ROW_GAP;

  const picture = svg(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `Paths through IVR flow ${d.flow}`, class: 'ivr' },
    svg('defs', {}, svg('marker', { id: `arrow-${d.flow}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#6b7280' }))),
  );
  for (const e of d.edges) {
    const a = place.get(e.from);
    const b = place.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    // A move back (or within a column) bends below the boxes.
    const back = x2 <= a.x;
    const path = back ? `M ${a.x + NODE_W / 2} ${a.y + NODE_H} C ${a.x + NODE_W / 2} ${a.y + NODE_H + 40}, ${b.x + NODE_W / 2} ${b.y + NODE_H + 40}, ${b.x + NODE_W / 2} ${b.y + NODE_H}` : `M ${x1} ${y1} C ${x1 + COL_GAP / 2} ${y1}, ${x2 - COL_GAP / 2} ${y2}, ${x2} ${y2}`;
    const label = `${Math.round(e.share * 100)}% (${e.calls})${e.digits.length > 0 ? ` · ${e.digits.join('/')}` : ''}`;
    picture.append(
      svg('path', { d: path, fill: 'none', stroke: '#6b7280', 'stroke-width': 1 + 3 * e.share, 'marker-end': `url(#arrow-${d.flow})` }),
      // A sloping arrow is labelled near its end, clear of the boxes of the column it crosses.
      svg('text', { x: back ? (a.x + b.x + NODE_W) / 2 : x1 + (x2 - x1) * (y1 === y2 ? 0.5 : 0.78), y: back ? Math.max(a.y, b.y) + NODE_H + 34 : y1 + (y2 - y1) * (y1 === y2 ? 0.5 : 0.78) - 6, 'text-anchor': 'middle', class: 'edge-label' }, label),
    );
  }
  for (const n of d.nodes) {
    const p = place.get(n.id)!;
    picture.append(
      svg(
        'g',
        { class: `node ${n.kind}`, 'data-node': n.id },
        svg('rect', { x: p.x, y: p.y, width: NODE_W, height: NODE_H, rx: n.kind === 'end' ? 21 : 6, fill: n.kind === 'end' ? '#f3f4f6' : '#eef2ff', stroke: n.kind === 'end' ? '#9ca3af' : '#6366f1' }),
        svg('text', { x: p.x + NODE_W / 2, y: p.y + 18, 'text-anchor': 'middle', class: 'node-label' }, n.label),
        svg('text', { x: p.x + NODE_W / 2, y: p.y + 34, 'text-anchor': 'middle', class: 'node-count' }, `${n.calls} caller${n.calls === 1 ? '' : 's'}`),
      ),
    );
  }
  return h(
    'figure',
    { class: 'ivr-flow', 'data-flow': d.flow },
    h('figcaption', {}, `Flow “${d.flow}”: ${d.calls} call${d.calls === 1 ? '' : 's'}`),
    h('div', { class: 'scroll' }, picture),
    // The same facts as a list, for screen readers (and tests).
    h(
      'ul',
      { class: 'edges' },
      ...d.edges.map((e) => h('li', { 'data-edge': `${e.from}->${e.to}`, 'data-share': e.share, 'data-calls': e.calls }, `${e.from} → ${e.to.replace(/^end:/, '')}: ${Math.round(e.share * 100)}% of callers (${e.calls})`)),
    ),
  );
}
