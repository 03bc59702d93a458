/**
 * A minimal MCP Apps host for browser tests, written by hand from the protocol (not with
 * ext-apps' AppBridge, so a mistake shared by the view's App class and the SDK's host side
 * could not hide here). It serves, on 127.0.0.1 at a port chosen at run time, a page that
 * loads a view's HTML into a sandboxed iframe (`sandbox="allow-scripts"`, srcdoc: an opaque
 * origin, as hosts render views), answers `ui/initialize`, and then lets the test deliver
 * `ui/notifications/tool-input` and `ui/notifications/tool-result`. A `tools/call` from the
 * view goes to `window.callServerTool`, which the test provides (page.exposeFunction).
 * The host's capabilities are `{serverTools: {}}` unless `?capabilities=<JSON>` says otherwise.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const HOST_PAGE = String.raw`<!doctype html>
<html>
  <head><meta charset="utf-8"><link rel="icon" href="data:,"><title>test host</title></head>
  <body style="margin:0;background:#fff">
    <iframe id="view" sandbox="allow-scripts" style="border:0;width:800px;height:1000px"></iframe>
    <script type="module">
      const frame = document.getElementById('view');
      const received = (window.received = []);
      const send = (message) => frame.contentWindow.postMessage(message, '*');
      let initialized;
      window.initialized = new Promise((resolve) => (initialized = resolve));
      window.addEventListener('message', async (event) => {
        if (event.source !== frame.contentWindow) return; // only the view speaks to this host
        const message = event.data;
        received.push(message);
        if (message.method === 'ui/initialize') {
          send({
            jsonrpc: '2.0',
            id: message.id,
            result: {
              protocolVersion: message.params.protocolVersion,
              hostInfo: { name: 'test-host', version: '1.0.0' },
              hostCapabilities: JSON.parse(new URLSearchParams(location.search).get('capabilities') ?? '{"serverTools":{}}'),
              hostContext: { theme: 'light', displayMode: 'inline', locale: 'en-US' },
            },
          });
        } else if (message.method === 'ui/notifications/initialized') {
          initialized();
        } else if (message.method === 'tools/call') {
          try {
            send({ jsonrpc: '2.0', id: message.id, result: await window.callServerTool(message.params) });
          } catch (error) {
            send({ jsonrpc: '2.0', id: message.id, error: { code: -32603, message: String(error) } });
          }
        } else if (message.id !== undefined && message.method) {
          send({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'not supported by the test host: ' + message.method } });
        }
      });
      window.deliver = (args, result) => {
        send({ jsonrpc: '2.0', method: 'ui/notifications/tool-input', params: { arguments: args } });
        send({ jsonrpc: '2.0', method: 'ui/notifications/tool-result', params: result });
      };
      const html = await (await fetch('/view.html')).text();
      frame.srcdoc = html;
    </script>
  </body>
</html>`;

export interface McpAppsHost {
  url: string;
  /** Every path the browser asked this server for. */
  requests: string[];
  close(): Promise<void>;
}

export async function startMcpAppsHost(viewHtml: string): Promise<McpAppsHost> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://host').pathname;
    requests.push(path);
    if (path === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(HOST_PAGE);
    else if (path === '/view.html') res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(viewHtml);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
