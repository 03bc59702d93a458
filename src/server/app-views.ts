/**
 * MCP Apps views: HTML a host that renders MCP Apps (Claude, ChatGPT, VS Code) shows in a
 * sandboxed iframe with a tool's result. A tool names its view (ToolDefinition.view); its
 * tools/list entry then carries the `ui://` link in `_meta` as @modelcontextprotocol/ext-apps
 * prescribes, and the view is served here as a resource with the MCP Apps MIME type.
 * Clients that render no views ignore both and use the result's structured content and text.
 *
 * Each view is one self-contained HTML file built from web/<view>-app/ into dist/apps/
 * (scripts/build-insights-app.mjs). It is read on the first resources/read, never at start-up:
 * cold start does not pay for a file most sessions never ask for.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { McpServer, RegisteredTool, StandardSchemaWithJSON, ToolAnnotations, ToolCallback } from '@modelcontextprotocol/server';
import { registerAppResource, registerAppTool, RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server';
import type { AppView } from '../tools/define-tool.js';

interface ViewResource {
  uri: `ui://${string}`;
  name: string;
  title: string;
  description: string;
  /** The built file, relative to the package root (the same from src/ and from dist/). */
  file: string;
}

export const APP_VIEW_RESOURCES: Record<AppView, ViewResource> = {
  insights: {
    uri: 'ui://mcp-server-twilio/insights.html',
    name: 'insights-view',
    title: 'Delivery and campaigns view',
    description: 'The MCP Apps view of show_insights: delivery figures and campaign progress.',
    file: 'dist/apps/insights.html',
  },
};

/** The package root: this module is src/server/ or dist/server/, two levels below it. */
const ROOT = new URL('../../', import.meta.url);
const cache = new Map<AppView, Promise<string>>();

/** The view's HTML, read once per process on first use. */
export function readAppViewHtml(view: AppView): Promise<string> {
  let html = cache.get(view);
  if (!html) {
    const path = fileURLToPath(new URL(APP_VIEW_RESOURCES[view].file, ROOT));
    html = readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      cache.delete(view); // a later build can still be served without a restart
      throw new Error(
        `The ${view} view is not built (${error.code === 'ENOENT' ? `no ${APP_VIEW_RESOURCES[view].file}` : error.message}): run npm run build. The tool's result carries the same figures as text.`,
      );
    });
    cache.set(view, html);
  }
  return html;
}

type ToolConfig = { title: string; description: string; inputSchema: StandardSchemaWithJSON; outputSchema: StandardSchemaWithJSON; annotations: ToolAnnotations };
export type ToolRegistrar = (name: string, config: ToolConfig, handler: ToolCallback<StandardSchemaWithJSON>) => RegisteredTool;

/**
 * How to register a tool: plainly, or, for a tool with a view, with the `ui://` link in its
 * tools/list `_meta` (ext-apps' registerAppTool, which adds the legacy `ui/resourceUri` key too).
 */
export function registrarFor(server: McpServer, view: AppView | undefined): ToolRegistrar {
  if (!view) return (name, config, handler) => server.registerTool(name, config, handler);
  return (name, config, handler) => registerAppTool(server, name, { ...config, _meta: { ui: { resourceUri: APP_VIEW_RESOURCES[view].uri } } }, handler);
}

/** Serves each of `views` as a `ui://` resource (text/html;profile=mcp-app). */
export function registerAppViews(server: McpServer, views: Iterable<AppView>): void {
  for (const view of new Set(views)) {
    const resource = APP_VIEW_RESOURCES[view];
    registerAppResource(
      server,
      resource.name,
      resource.uri,
      { title: resource.title, description: resource.description, mimeType: RESOURCE_MIME_TYPE, _meta: { ui: { prefersBorder: true } } },
      async () => ({ contents: [{ uri: resource.uri, mimeType: RESOURCE_MIME_TYPE, text: await readAppViewHtml(view) }] }),
    );
  }
}
