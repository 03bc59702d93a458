/**
 * The official `twilio` SDK pointed at a sandbox, as a user's project would do it: a
 * RequestClient subclass rewrites `https://<product>.twilio.com` to the sandbox base URL
 * and keeps the product host in `X-Twilio-Product-Host` (the sandbox routes on the path).
 */
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';

export function sandboxRequestClient(baseUrl: string) {
  class SandboxRequestClient extends twilio.RequestClient {
    override request<T>(opts: RequestClient.RequestOptions<T>) {
      const url = new URL(opts.uri);
      return super.request<T>({
        ...opts,
        uri: `${baseUrl}${url.pathname}${url.search}`,
        headers: { ...opts.headers, 'X-Twilio-Product-Host': url.host },
      });
    }
  }
  return new SandboxRequestClient();
}

export function sandboxTwilioClient(baseUrl: string, accountSid: string, authToken: string) {
  return twilio(accountSid, authToken, { httpClient: sandboxRequestClient(baseUrl) });
}
