/**
 * A tool is data: name, description, kind, toolset, zod input and output schemas, and a
 * short handler that calls one service. The server factory turns definitions into MCP
 * registrations; the kind alone decides the annotations (server/annotations.ts).
 */
import type { z } from 'zod';
import type { Services } from '../services/index.js';

/** read: changes nothing. send: reaches a person, billed, irreversible. update: changes state. destructive: deletes or cancels. */
export type ToolKind = 'read' | 'send' | 'update' | 'destructive';

/** Every toolset name the server accepts; some have no tools yet in this version. */
export const TOOLSETS = [
  'messaging',
  'inbox',
  'voice',
  'verify',
  'lookup',
  'numbers',
  'conversations',
  'video',
  'insights',
  'campaigns',
  'server',
] as const;
export type Toolset = (typeof TOOLSETS)[number];
/** Enabled when no --toolsets is given. `server` (status, policy) is always on. */
export const DEFAULT_TOOLSETS: readonly Toolset[] = ['messaging', 'inbox', 'server'];

/**
 * The MCP Apps views this server ships (server/app-views.ts serves each as a `ui://`
 * resource): a host that renders MCP Apps shows the view with the tool's result.
 */
export const APP_VIEWS = ['insights'] as const;
export type AppView = (typeof APP_VIEWS)[number];

export interface ToolContext {
  services: Services;
  signal: AbortSignal | undefined;
  /** Reports progress when the client asked for it (gave a progress token); a no-op otherwise. */
  progress: (progress: number, total: number, message: string) => Promise<void>;
  /** The user confirmed a first contact through elicitation (see server/create-server.ts). */
  firstContactConfirmed: boolean;
}

export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  kind: ToolKind;
  toolset: Toolset;
  input: I;
  output: O;
  handle(args: z.output<I>, context: ToolContext): Promise<z.input<O>>;
  /** Listed only when the embedded sandbox is in use (e.g. simulating an inbound SMS). */
  sandboxOnly?: boolean;
  /** Listed only when the operator enabled it (number_purchase: TWILIO_MCP_ALLOW_NUMBER_PURCHASE=true). */
  requires?: 'number_purchase';
  /** The view a host that renders MCP Apps shows with the result; other clients get the same figures as structured content and text. */
  view?: AppView;
}

export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(definition: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return definition;
}
