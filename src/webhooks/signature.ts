/**
 * Twilio request signatures, checked without the Twilio SDK (the SDK is the oracle in
 * tests). Signature = base64(HMAC-SHA1(auth token, URL + each POST parameter name and
 * value, sorted by name)). JSON bodies: the URL carries bodySHA256=<hex sha256(body)>,
 * the HMAC covers the URL alone and the body hash is compared separately.
 *
 * The URL is the public one Twilio called, rebuilt from configuration, never from the
 * Host header (a proxy or tunnel changes it). Twilio may sign the URL with or without
 * the default port, so both forms are tried.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export function computeSignature(authToken: string, url: string, params: Record<string, string | string[]>): string {
  let data = url;
  for (const key of Object.keys(params).sort()) {
    const value = params[key]!;
    // Repeated parameters are signed value by value, in sorted order.
    for (const v of Array.isArray(value) ? [...new Set(value)].sort() : [value]) data += key + v;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf-8')).digest('base64');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The URL as given, without its port, and with the default port added: Twilio signs
 * whichever form it requested, and has been seen dropping a port from the signed URL.
 */
export function urlVariants(url: string): string[] {
  const match = /^([a-z]+:\/\/)([^/?#@]*@)?([^/?#:]+)(:\d+)?(.*)$/is.exec(url);
  if (!match) return [url];
  const [, scheme, userInfo = '', host, port, rest] = match as unknown as [string, string, string | undefined, string, string | undefined, string];
  const defaultPort = scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return [...new Set([url, scheme + userInfo + host + rest, scheme + userInfo + host + (port ?? defaultPort) + rest])];
}

export interface SignedRequest {
  /** The public URL Twilio requested (configured base + path + query). */
  url: string;
  signature: string | undefined;
  /** Form parameters; ignored for the JSON variant. */
  params: Record<string, string | string[]>;
  rawBody: string;
}

/** Verifies against every configured token (two during a token rotation). */
export function verifySignature(request: SignedRequest, authTokens: readonly string[]): boolean {
  if (!request.signature) return false;
  const bodyHash = new URL(request.url).searchParams.get('bodySHA256');
  for (const token of authTokens) {
    for (const url of urlVariants(request.url)) {
      if (bodyHash !== null) {
        const actual = createHash('sha256').update(request.rawBody).digest('hex');
        if (safeEqual(computeSignature(token, url, {}), request.signature) && safeEqual(actual, bodyHash)) return true;
      } else if (safeEqual(computeSignature(token, url, request.params), request.signature)) {
        return true;
      }
    }
  }
  return false;
}
