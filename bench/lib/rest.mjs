/**
 * The direct path: the same Messages POST a Twilio client makes (form-encoded, Basic
 * auth, one keep-alive connection), with nothing else in the way. Its time is what the
 * sandbox and HTTP cost; the MCP path minus this is what the server adds.
 */
import { Agent, request } from 'node:http';

export function directMessagePoster({ baseUrl, accountSid, authToken }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const authorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  const url = `${baseUrl}/2010-04-01/Accounts/${accountSid}/Messages.json`;
  const post = (params) =>
    new Promise((resolve, reject) => {
      const body = new URLSearchParams(params).toString();
      const req = request(
        url,
        { method: 'POST', agent, headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode !== 201) return reject(new Error(`direct POST: HTTP ${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 300)}`));
            resolve(JSON.parse(Buffer.concat(chunks).toString()));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { post, close: () => agent.destroy() };
}
