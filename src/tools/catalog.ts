/**
 * The tool catalog the server starts with: every tool's name, kind, toolset, description
 * and JSON Schemas, WITHOUT loading the toolset modules (their zod schemas, handlers and the
 * services they import) or converting a single schema at start-up.
 *
 * Why: building zod schemas and converting them to JSON Schema grew with every tool and was
 * the part of cold start that scales (measured in bench/README.md). `npm run build` converts
 * every schema once (scripts/build-tool-manifest.mjs) into dist/tools/tool-manifest.json;
 * at run time tools/list is answered from it, and a toolset's module is imported on the
 * first call of one of its tools — when its zod schema validates the arguments, exactly as
 * before. The manifest carries a fingerprint of the compiled files: if any changed since
 * (a `tsc` without the manifest step), it is ignored and the catalog is built from the
 * modules, which is also what happens when running from source (tests).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import { log } from '../util/log.js';
import type { AppView, ToolDefinition, ToolKind, Toolset } from './define-tool.js';

/** The toolset modules, by file: the only place that knows which file holds which tools. */
const MODULES = {
  messaging: async () => (await import('./messaging.js')).messagingTools,
  inbox: async () => (await import('./inbox.js')).inboxTools,
  voice: async () => (await import('./voice.js')).voiceTools,
  verify: async () => (await import('./verify.js')).verifyTools,
  lookup: async () => (await import('./lookup.js')).lookupTools,
  numbers: async () => (await import('./numbers.js')).numbersTools,
  conversations: async () => (await import('./conversations.js')).conversationsTools,
  video: async () => (await import('./video.js')).videoTools,
  insights: async () => (await import('./insights.js')).insightsTools,
  campaigns: async () => (await import('./campaigns.js')).campaignsTools,
  server: async () => (await import('./server.js')).serverTools,
} as const satisfies Record<string, () => Promise<readonly unknown[]>>;
type ModuleName = keyof typeof MODULES;
/** The order tools are listed in. */
const MODULE_ORDER: readonly ModuleName[] = ['messaging', 'inbox', 'voice', 'verify', 'lookup', 'numbers', 'conversations', 'video', 'insights', 'campaigns', 'server'];

type JsonSchema = Record<string, unknown>;

/** What the selection, the status report and tools/list need of a tool. */
export interface ToolInfo {
  name: string;
  title: string;
  description: string;
  kind: ToolKind;
  toolset: Toolset;
  sandboxOnly?: boolean;
  requires?: 'number_purchase';
  view?: AppView;
}

export interface ManifestTool extends ToolInfo {
  module: ModuleName;
  /** zod's JSON Schema of the input/output (draft 2020-12, without the $schema line). */
  inputJson: JsonSchema;
  outputJson: JsonSchema;
}

export interface ToolManifest {
  fingerprint: string;
  tools: ManifestTool[];
}

/** A tool ready to register: JSON Schemas at hand, the definition loaded on first use. */
export interface ToolEntry extends ToolInfo {
  inputSchema: StandardSchemaWithJSON;
  outputSchema: StandardSchemaWithJSON;
  definition(): Promise<ToolDefinition>;
}

export const MANIFEST_FILE = 'tool-manifest.json';
/** The JSON Schema dialect MCP (and the SDK's conversion) uses. */
const TARGET = 'draft-2020-12';
const HERE = dirname(fileURLToPath(import.meta.url));

function toJson(schema: unknown, io: 'input' | 'output'): JsonSchema {
  const standard = (schema as StandardSchemaWithJSON)['~standard'] as { jsonSchema: Record<'input' | 'output', (o: { target: string }) => JsonSchema> };
  const { $schema: _dialect, ...rest } = standard.jsonSchema[io]({ target: TARGET });
  return rest;
}

/** Every tool, converted from its module (the build step, and the fallback at run time). */
export async function buildManifestTools(): Promise<ManifestTool[]> {
  const tools: ManifestTool[] = [];
  for (const module of MODULE_ORDER) {
    for (const tool of (await MODULES[module]()) as unknown as ToolDefinition[]) {
      tools.push({
        name: tool.name,
        title: tool.title,
        description: tool.description,
        kind: tool.kind,
        toolset: tool.toolset,
        ...(tool.sandboxOnly && { sandboxOnly: true }),
        ...(tool.requires && { requires: tool.requires }),
        ...(tool.view && { view: tool.view }),
        module,
        inputJson: toJson(tool.input, 'input'),
        outputJson: toJson(tool.output, 'output'),
      });
    }
  }
  return tools;
}

/**
 * A hash of the compiled files a manifest was made from (their paths and contents; not
 * their times, which npm's packing resets). The dashboard page's bundle (dist/dashboard/page,
 * browser code built by scripts/build-dashboard.mjs) is no server code: it is left out, so
 * the build steps may run in either order and start-up does not hash it.
 */
export function fingerprintOf(distRoot: string): string {
  const hash = createHash('sha256');
  const page = join(distRoot, 'dashboard', 'page');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path !== page) walk(path);
      } else if (entry.name.endsWith('.js')) {
        hash.update(`${relative(distRoot, path)}\0`).update(readFileSync(path)).update('\n');
      }
    }
  };
  walk(distRoot);
  return hash.digest('hex');
}

/** The manifest next to this module, if there is one and it matches the compiled files. */
function readManifest(): ManifestTool[] | undefined {
  let manifest: ToolManifest;
  try {
    manifest = JSON.parse(readFileSync(join(HERE, MANIFEST_FILE), 'utf8')) as ToolManifest;
  } catch {
    return undefined; // running from source, or built without the manifest step
  }
  if (manifest.fingerprint !== fingerprintOf(dirname(HERE))) {
    log.debug(`${MANIFEST_FILE} is older than the compiled code: building the tool list from the modules (run npm run build to refresh it)`);
    return undefined;
  }
  return manifest.tools;
}

/**
 * A standard schema whose JSON Schema is known already and whose validation loads the
 * tool's zod schema on first use: the SDK awaits validate, so arguments are checked by the
 * very schema they were before, with the same messages.
 */
function lazySchema(json: JsonSchema, real: () => Promise<StandardSchemaWithJSON>): StandardSchemaWithJSON {
  return {
    '~standard': {
      version: 1,
      vendor: 'mcp-server-twilio',
      jsonSchema: { input: () => json, output: () => json },
      validate: async (value: unknown) => (await real())['~standard'].validate(value),
    },
  } as unknown as StandardSchemaWithJSON;
}

function toEntry(tool: ManifestTool, modules: Map<ModuleName, Promise<ToolDefinition[]>>): ToolEntry {
  let loaded: Promise<ToolDefinition> | undefined;
  const definition = () =>
    (loaded ??= (async () => {
      let tools = modules.get(tool.module);
      if (!tools) modules.set(tool.module, (tools = MODULES[tool.module]() as unknown as Promise<ToolDefinition[]>));
      const found = (await tools).find((t) => t.name === tool.name);
      if (!found) throw new Error(`tool ${tool.name} is in the manifest but not in module ${tool.module}: rebuild (npm run build)`);
      return found;
    })());
  const { inputJson, outputJson, module: _module, ...info } = tool;
  return {
    ...info,
    inputSchema: lazySchema(inputJson, async () => (await definition()).input as unknown as StandardSchemaWithJSON),
    outputSchema: lazySchema(outputJson, async () => (await definition()).output as unknown as StandardSchemaWithJSON),
    definition,
  };
}

/** Every tool, in listing order: from the build's manifest, or (from source) from the modules. */
export async function loadToolCatalog(): Promise<ToolEntry[]> {
  const tools = readManifest() ?? (await buildManifestTools());
  const modules = new Map<ModuleName, Promise<ToolDefinition[]>>();
  return tools.map((tool) => toEntry(tool, modules));
}
