/**
 * Twilio 2010-04-01 paging: `PageSize` (default 50, max 1000), `Page`, `PageToken`;
 * envelope `{<key>: [...], uri, page, page_size, start, end, first_page_uri,
 * next_page_uri, previous_page_uri}` with relative URIs that keep the filters.
 */
import { first, type Params, TwilioError } from './wire.js';

export function paginate<T extends { sid: string }>(
  items: T[],
  query: Params,
  path: string,
  key: string,
  toJson: (item: T) => unknown,
): Record<string, unknown> {
  const pageSize = Number(first(query, 'PageSize') ?? 50);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new TwilioError(400, 20001, 'PageSize must be an integer between 1 and 1000');
  }
  const page = Number(first(query, 'Page') ?? 0);
  if (!Number.isInteger(page) || page < 0) throw new TwilioError(400, 20001, 'Page must be a non-negative integer');
  // The token names the first item of the page, so a page stays stable while new items arrive.
  const token = first(query, 'PageToken');
  let start = page * pageSize;
  if (token) {
    const index = items.findIndex((item) => `PA${item.sid}` === token);
    if (index >= 0) start = index;
  }
  const slice = items.slice(start, start + pageSize);

  const filters = new URLSearchParams();
  for (const [name, values] of query) {
    if (name === 'PageSize' || name === 'Page' || name === 'PageToken') continue;
    for (const value of values) filters.append(name, value);
  }
  const link = (p: number, tokenSid?: string) => {
    const q = new URLSearchParams(filters);
    q.set('PageSize', String(pageSize));
    q.set('Page', String(p));
    if (tokenSid) q.set('PageToken', `PA${tokenSid}`);
    return `${path}?${q.toString()}`;
  };
  const next = items[start + pageSize];
  const previousStart = Math.max(0, start - pageSize);
  return {
    [key]: slice.map(toJson),
    end: start + Math.max(0, slice.length - 1),
    first_page_uri: link(0),
    next_page_uri: next ? link(page + 1, next.sid) : null,
    page,
    page_size: pageSize,
    previous_page_uri: page > 0 ? link(page - 1, items[previousStart]?.sid) : null,
    start,
    uri: token ? link(page, token.slice(2)) : link(page),
  };
}
