/**
 * Twilio paging, both envelopes:
 *
 * - 2010-04-01: `PageSize` (default 50, max 1000), `Page`, `PageToken`; envelope
 *   `{<key>: [...], uri, page, page_size, start, end, first_page_uri, next_page_uri,
 *   previous_page_uri}` with relative URIs that keep the filters.
 * - v1/v2 products (Messaging, Verify, …): the same query, envelope `{<key>: [...], meta:
 *   {page, page_size, first_page_url, previous_page_url, url, next_page_url, key}}` with
 *   absolute URLs on the product's host.
 *
 * Tokens work as Twilio's do: the next page's token is `PA` + the LAST SID of the current
 * page ("after it", exclusive), the previous page's is `PB` + the FIRST SID ("before it").
 * A token names a position, not an index, so walking either way neither skips nor repeats
 * an item while new ones arrive at the head of the list. `Page` is only a label then, as
 * on Twilio (it decides `start` and whether there is a previous page).
 */
import { first, type Params, TwilioError } from './wire.js';

const PAGE_TOKEN = /^P([AB])([A-Z]{2}[0-9a-fA-F]{32})$/;

export interface PageOptions {
  /**
   * Where a SID sits in the listing's order (ascending along the list). Lets a token name
   * an item that no longer appears (deleted, or filtered out). Default: its index.
   */
  positionOf?: (sid: string) => number | undefined;
}

interface PageWindow<T> {
  slice: T[];
  page: number;
  pageSize: number;
  start: number;
  token: string | undefined;
  hasNext: boolean;
  hasPrevious: boolean;
}

const invalid = (message: string) => new TwilioError(400, 20001, message);

function pageWindow<T extends { sid: string }>(items: T[], query: Params, options: PageOptions): PageWindow<T> {
  const pageSize = Number(first(query, 'PageSize') ?? 50);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw invalid('PageSize must be an integer between 1 and 1000');
  const page = Number(first(query, 'Page') ?? 0);
  if (!Number.isInteger(page) || page < 0) throw invalid('Page must be a non-negative integer');
  const indexOf = new Map(items.map((item, i) => [item.sid, i]));
  const positionOf = options.positionOf ?? ((sid: string) => indexOf.get(sid));
  const position = (item: T) => positionOf(item.sid) ?? indexOf.get(item.sid)!;

  const token = first(query, 'PageToken') || undefined;
  let slice: T[];
  if (token === undefined) {
    slice = items.slice(page * pageSize, page * pageSize + pageSize);
  } else {
    const match = PAGE_TOKEN.exec(token);
    const pivot = match ? positionOf(match[2]!) : undefined;
    if (!match || pivot === undefined) throw invalid(`Invalid PageToken: ${token}. Use the next_page_uri or previous_page_uri of a page.`);
    slice = match[1] === 'A' ? items.filter((item) => position(item) > pivot).slice(0, pageSize) : items.filter((item) => position(item) < pivot).slice(-pageSize);
  }
  const last = slice.at(-1);
  const hasNext = last !== undefined ? items.some((item) => position(item) > position(last)) : false;
  return { slice, page, pageSize, start: page * pageSize, token, hasNext, hasPrevious: page > 0 };
}

function linkMaker(query: Params, base: string, pageSize: number) {
  const filters = new URLSearchParams();
  for (const [name, values] of query) {
    if (name === 'PageSize' || name === 'Page' || name === 'PageToken') continue;
    for (const value of values) filters.append(name, value);
  }
  return (page: number, token?: string) => {
    const q = new URLSearchParams(filters);
    q.set('PageSize', String(pageSize));
    q.set('Page', String(page));
    if (token) q.set('PageToken', token);
    return `${base}?${q.toString()}`;
  };
}

/** Tokens of the pages beside this one, per Twilio's after/before rule. */
function neighbours<T extends { sid: string }>(w: PageWindow<T>) {
  const firstSid = w.slice[0]?.sid;
  const lastSid = w.slice.at(-1)?.sid;
  return {
    next: w.hasNext && lastSid ? `PA${lastSid}` : undefined,
    // An empty page past the end has no first item: its previous page is by number only.
    previous: w.hasPrevious ? (firstSid ? `PB${firstSid}` : '') : undefined,
  };
}

/** The 2010-04-01 envelope. */
export function paginate<T extends { sid: string }>(
  items: T[],
  query: Params,
  path: string,
  key: string,
  toJson: (item: T) => unknown,
  options: PageOptions = {},
): Record<string, unknown> {
  const w = pageWindow(items, query, options);
  const link = linkMaker(query, path, w.pageSize);
  const { next, previous } = neighbours(w);
  return {
    [key]: w.slice.map(toJson),
    end: w.start + Math.max(0, w.slice.length - 1),
    first_page_uri: link(0),
    next_page_uri: next ? link(w.page + 1, next) : null,
    page: w.page,
    page_size: w.pageSize,
    previous_page_uri: previous !== undefined ? link(w.page - 1, previous) : null,
    start: w.start,
    uri: link(w.page, w.token),
  };
}

/** The v1/v2 envelope; `baseUrl` is the absolute URL of the list (`https://messaging.twilio.com/v1/…`). */
export function paginateMeta<T extends { sid: string }>(
  items: T[],
  query: Params,
  baseUrl: string,
  key: string,
  toJson: (item: T) => unknown,
  options: PageOptions = {},
): Record<string, unknown> {
  const w = pageWindow(items, query, options);
  const link = linkMaker(query, baseUrl, w.pageSize);
  const { next, previous } = neighbours(w);
  return {
    [key]: w.slice.map(toJson),
    meta: {
      first_page_url: link(0),
      key,
      next_page_url: next ? link(w.page + 1, next) : null,
      page: w.page,
      page_size: w.pageSize,
      previous_page_url: previous !== undefined ? link(w.page - 1, previous) : null,
      url: link(w.page, w.token),
    },
  };
}
