/**
 * The page builds every element with these helpers, and text only ever goes in as text
 * (textContent, never innerHTML): a reply that says `<script>` is shown as those characters.
 */
type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

const SVG = 'http://www.w3.org/2000/svg';
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

/** Replaces what `parent` shows. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

export const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
};

// ---- formatting ---------------------------------------------------------------------

export const count = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n.toLocaleString('en-US'));
export const percent = (share: number | null | undefined) => (share === null || share === undefined ? '–' : `${(share * 100).toFixed(1)}%`);
export const usd = (n: number | null | undefined) => (n === null || n === undefined ? '–' : `$${n.toFixed(n < 1 ? 4 : 2)}`);
export function seconds(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  if (n < 90) return `${Math.round(n * 10) / 10} s`;
  if (n < 5400) return `${Math.round(n / 6) / 10} min`;
  return `${Math.round(n / 360) / 10} h`;
}
export function time(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' });
}

/** A number the tests (and screen readers) can read exactly, shown formatted. */
export function metric(name: string, label: string, value: number | null | undefined, shown: string): HTMLElement {
  return h('div', { class: 'metric' }, h('dt', {}, label), h('dd', { 'data-metric': name, 'data-value': value === null || value === undefined ? '' : String(value) }, shown));
}

export function table(headers: string[], rows: Child[][], attributes: Attributes = {}): HTMLTableElement {
  return h(
    'table',
    attributes,
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((cell) => h('td', {}, cell))))),
  );
}
