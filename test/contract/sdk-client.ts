/** The official `twilio` SDK pointed at a sandbox, as a user's project would do it. */
import twilio from 'twilio';

export function sandboxTwilioClient(baseUrl: string, accountSid: string, authToken: string) {
  class SandboxRequestClient extends twilio.RequestClient {
    override request<T>(opts: Parameters<twilio.RequestClient['request']>[0]) {
      const url = new URL(opts.uri);
      return super.request<T>({ ...opts, uri: `${baseUrl}${url.pathname}${url.search}` });
    }
  }
  return twilio(accountSid, authToken, { httpClient: new SandboxRequestClient() });
}
