/**
 * Twilio request signatures, checked without the Twilio SDK (the SDK is the oracle in
 * tests). Signature = base64(HMAC-SHA1(auth token, URL + each POST parameter name and
 * value, sorted by name)). JSON bodies: the URL carries bodySHA256=<hex sha256(body)>,
 * the HMAC covers the URL alone and the body hash is compared separately.
 *
 * The URL is the public one Twilio called, rebuilt from configuration, never from the
 * Host header (a proxy or tunnel changes it). Twilio may sign the URL with or without
 * the default port, so both forms are tried; like the SDK's validateRequest, a URL whose
 * path or query holds characters some back ends escape (`'`, spaces) is also tried in
 * its escaped forms.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';

export function computeSignature(authToken: string, url: string, params: Readonly<Record<string, string | readonly string[]>>): string {
  let data = url;
  for (const key of Object.keys(params).sort()) {
    const value = params[key]!;
    // Repeated parameters are signed value by value, sorted (and, as the SDK does, each distinct value once).
    for (const v of typeof value === 'string' ? [value] : [...new Set(value)].sort()) data += key + v;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf-8')).digest('base64');
}

/** Hex SHA-256 of the body bytes as received (not of a decoded string: invalid UTF-8 would change it). */
export function bodyHash(rawBody: Buffer | string): string {
  return createHash('sha256').update(rawBody).digest('hex');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Returning early on a length mismatch leaks nothing: a signature's length is fixed by the algorithm.
  return x.length === y.length && timingSafeEqual(x, y);
}

/** scheme://userinfo@host:port/rest, split without normalising anything (IPv6 literals included). */
function splitUrl(url: string): { scheme: string; userInfo: string; host: string; port: string; rest: string } | undefined {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!match) return undefined;
  const [prefix, scheme, authority] = match as unknown as [string, string, string];
  const userInfoEnd = authority.lastIndexOf('@');
  const hostAndPort = authority.slice(userInfoEnd + 1);
  const portStart = hostAndPort.indexOf(':', hostAndPort.lastIndexOf(']') + 1);
  return {
    scheme,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? '' : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}

function portForms(url: string): string[] {
  const parts = splitUrl(url);
  if (!parts) return [url];
  const base = parts.scheme + parts.userInfo + parts.host;
  const defaultPort = parts.scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return [base + parts.rest, base + (parts.port || defaultPort) + parts.rest];
}

function legacyQuery(url: string): string {
  const at = url.indexOf('?');
  if (at === -1 || at === url.length - 1) return url;
  return `${url.slice(0, at)}?${stringifyQuery(parseQuery(url.slice(at + 1)))}`;
}

/**
 * Every form of `url` Twilio may have signed: as given, without its port and with the
 * default port; then (only if different) as `new URL()` normalises it and with the query
 * re-encoded the way Node's legacy querystring does — the same list the SDK tries.
 */
export function urlVariants(url: string): string[] {
  const variants = [url, ...portForms(url)];
  let normalized: string | undefined;
  try {
    normalized = new URL(url).toString();
  } catch {
    // Not a URL WHATWG accepts: only the forms above can match.
  }
  if (normalized !== undefined) {
    for (const form of portForms(normalized)) variants.push(form, legacyQuery(form));
  }
  return [...new Set(variants)];
}

export interface SignedRequest {
  /** The public URL Twilio requested (configured base + path + query). */
  url: string;
  signature: string | undefined;
  /**
   * Form parameters of the body. null when the body is not form-encoded (JSON): then only
   * the bodySHA256 variant can authenticate it, since nothing else covers such a body.
   */
  params: Readonly<Record<string, string | readonly string[]>> | null;
  /** The body bytes as received. */
  rawBody: Buffer | string;
}

function bodySha256Of(url: string): string | null {
  const at = url.indexOf('?');
  if (at === -1) return null;
  return new URLSearchParams(url.slice(at + 1)).get('bodySHA256');
}

/** Verifies against every configured token (two during a token rotation). */
export function verifySignature(request: SignedRequest, authTokens: readonly string[]): boolean {
  const { signature } = request;
  if (!signature) return false;
  const expectedBodyHash = bodySha256Of(request.url);
  if (expectedBodyHash !== null) {
    // The HMAC covers the URL (which carries the hash); the hash covers the body.
    if (!safeEqual(bodyHash(request.rawBody), expectedBodyHash.toLowerCase())) return false;
  } else if (request.params === null) {
    return false;
  }
  const params = expectedBodyHash !== null ? {} : request.params!;
  const variants = urlVariants(request.url);
  return authTokens.some((token) => token.length > 0 && variants.some((url) => safeEqual(computeSignature(token, url, params), signature)));
}
