/** `mcp-server-twilio sandbox`: the emulator alone, usable by another project's SDK. */
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { sandboxTwilioClient } from '../contract/sdk-client.js';
import { SERVER_ENTRY, serverEnv } from '../helpers/server-process.js';

it('prints its base URL and test credentials, and serves the official SDK', async () => {
  const child = spawn(process.execPath, [SERVER_ENTRY, 'sandbox', '--port', '0'], { env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    const printed = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner: ${out}`)), 10_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (/Messaging service SID/.test(out)) {
          clearTimeout(timer);
          resolve(out);
        }
      });
    });
    const baseUrl = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(printed)![1]!;
    const accountSid = /Account SID:\s+(AC\w{32})/.exec(printed)![1]!;
    const authToken = /Auth token:\s+(\w+)/.exec(printed)![1]!;
    const client = sandboxTwilioClient(baseUrl, accountSid, authToken);
    const message = await client.messages.create({ from: '+15005550006', to: '+14155550100', body: 'from another project' });
    expect(message.status).toBe('queued');
  } finally {
    child.kill('SIGTERM');
  }
});
