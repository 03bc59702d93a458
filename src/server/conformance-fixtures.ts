/**
 * The fixture tools, resources and prompts the MCP conformance suite
 * (@modelcontextprotocol/conformance) calls by name. Registered ONLY when
 * MCP_CONFORMANCE_FIXTURES=1 (see cli/main.ts): they exist to prove the protocol layer,
 * never to be offered to an agent.
 */
import {
  completable,
  type ElicitInputParams,
  fromJsonSchema,
  inputRequired,
  inputResponse,
  type McpServer,
  ResourceTemplate,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { enableResourceSubscriptions, type SubscriptionSource } from './resource-subscriptions.js';

// 1×1 transparent PNG and a 44-byte silent WAV header: the smallest valid payloads.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
const WAV = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });

/** The resource the suite subscribes to; like the reference server's, it changes on a timer. */
const WATCHED_URI = 'test://watched-resource';
const WATCHED_PERIOD_MS = 1000;
const watchedRevision = () => Math.floor(Date.now() / WATCHED_PERIOD_MS);
/**
 * The fixtures' resource changes. Per connection it ticks only while somebody listens (the
 * subscription module attaches it lazily); an HTTP entry serving 2026-07-28 listeners
 * forwards it to its event bus (see forwardResourceUpdates).
 */
export const conformanceFixtureChanges: SubscriptionSource = {
  watch(onChanged) {
    const timer = setInterval(() => onChanged(WATCHED_URI), WATCHED_PERIOD_MS);
    timer.unref();
    return () => clearInterval(timer);
  },
};

/** What a form elicitation asks; the suite's enum variants are wider than the SDK's static type. */
interface ElicitationForm {
  message: string;
  requestedSchema: { type: 'object'; properties: Record<string, object>; required?: string[] };
}

export function registerConformanceFixtures(server: McpServer): void {
  server.server.registerCapabilities({ logging: {} });
  enableResourceSubscriptions(server, conformanceFixtureChanges);

  /** A tool that asks the user one form (inputRequired) and reports the answer as text. */
  const elicitationTool = <Shape extends z.ZodRawShape>(
    name: string,
    config: { description: string; inputSchema: z.ZodObject<Shape> },
    form: (args: z.infer<z.ZodObject<Shape>>) => ElicitationForm,
    report: (action: string, content: Record<string, unknown>) => string,
  ) =>
    server.registerTool(name, config, async (args, ctx) => {
      const answer = inputResponse(ctx.mcpReq.inputResponses, 'form');
      if (answer.kind !== 'elicit') {
        return inputRequired({ inputRequests: { form: inputRequired.elicit({ mode: 'form', ...form(args as z.infer<z.ZodObject<Shape>>) } as ElicitInputParams) } });
      }
      return text(report(answer.action, answer.content ?? {}));
    });

  server.registerTool('test_simple_text', { description: 'Returns simple text' }, async () => text('This is a simple text response for testing.'));
  server.registerTool('test_image_content', { description: 'Returns an image' }, async () => ({
    content: [{ type: 'image', data: PNG, mimeType: 'image/png' }],
  }));
  server.registerTool('test_audio_content', { description: 'Returns audio' }, async () => ({
    content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }],
  }));
  server.registerTool('test_embedded_resource', { description: 'Returns an embedded resource' }, async () => ({
    content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }],
  }));
  server.registerTool('test_multiple_content_types', { description: 'Returns text, image and resource' }, async () => ({
    content: [
      { type: 'text', text: 'Multiple content types test:' },
      { type: 'image', data: PNG, mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: '{"test":"data","value":123}' } },
    ],
  }));
  server.registerTool('test_tool_with_logging', { description: 'Logs three messages while running', inputSchema: z.object({}) }, async (_args, ctx) => {
    for (const message of ['Tool execution started', 'Tool processing data', 'Tool execution completed']) {
      await ctx.mcpReq.log('info', message);
      await sleep(50);
    }
    return text('Tool with logging executed successfully');
  });
  server.registerTool('test_error_handling', { description: 'Always fails' }, async () => ({
    isError: true,
    content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
  }));
  server.registerTool('test_tool_with_progress', { description: 'Reports progress 0, 50, 100', inputSchema: z.object({}) }, async (_args, ctx) => {
    const progressToken = ctx.mcpReq._meta?.progressToken;
    for (const progress of [0, 50, 100]) {
      if (progressToken !== undefined) {
        await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress, total: 100, message: `Completed step ${progress / 50 + 1} of 3` } });
      }
      await sleep(50);
    }
    return text(String(progressToken ?? 'no progress token'));
  });
  // Sampling and elicitation are written as inputRequired(...): native on 2026-07-28, and
  // on 2025-era sessions the SDK's shim sends the request on the tool call's own response
  // stream. (ctx.mcpReq.requestSampling/elicitInput would use the session's GET stream,
  // which the client may not have opened yet: a race that loses the request.)
  server.registerTool(
    'test_sampling',
    { description: 'Asks the client for an LLM completion', inputSchema: z.object({ prompt: z.string().describe('The prompt to send to the LLM') }) },
    async ({ prompt }, ctx) => {
      const answer = inputResponse(ctx.mcpReq.inputResponses, 'sampling');
      if (answer.kind !== 'sampling') {
        return inputRequired({
          inputRequests: { sampling: inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 }) },
        });
      }
      const content = Array.isArray(answer.result.content) ? answer.result.content[0] : answer.result.content;
      return text(`LLM response: ${content?.type === 'text' ? content.text : '(non-text content)'}`);
    },
  );
  elicitationTool(
    'test_elicitation',
    { description: 'Asks the user for input', inputSchema: z.object({ message: z.string().describe('The message to show the user') }) },
    ({ message }) => ({
      message,
      requestedSchema: {
        type: 'object',
        properties: { username: { type: 'string', description: "User's response" }, email: { type: 'string', description: "User's email address" } },
        required: ['username', 'email'],
      },
    }),
    (action, content) => `User response: action=${action}, content=${JSON.stringify(content)}`,
  );
  elicitationTool(
    'test_elicitation_sep1034_defaults',
    { description: 'Elicitation with a default for every primitive type (SEP-1034)', inputSchema: z.object({}) },
    () => ({
      message: 'Please review and update the form fields with defaults',
      requestedSchema: {
        type: 'object',
        properties: {
          name: { type: 'string', description: 'User name', default: 'John Doe' },
          age: { type: 'integer', description: 'User age', default: 30 },
          score: { type: 'number', description: 'User score', default: 95.5 },
          status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
          verified: { type: 'boolean', description: 'Verification status', default: true },
        },
        required: [],
      },
    }),
    (action, content) => `Elicitation completed: action=${action}, content=${JSON.stringify(content)}`,
  );
  elicitationTool(
    'test_elicitation_sep1330_enums',
    { description: 'Elicitation with the five enum schema variants (SEP-1330)', inputSchema: z.object({}) },
    () => ({
      message: 'Please select options from the enum fields',
      requestedSchema: {
        type: 'object',
        properties: {
          untitledSingle: { type: 'string', description: 'Select one option', enum: ['option1', 'option2', 'option3'] },
          titledSingle: {
            type: 'string',
            description: 'Select one option with titles',
            oneOf: [
              { const: 'value1', title: 'First Option' },
              { const: 'value2', title: 'Second Option' },
              { const: 'value3', title: 'Third Option' },
            ],
          },
          legacyEnum: { type: 'string', description: 'Select one option (legacy)', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] },
          untitledMulti: { type: 'array', description: 'Select multiple options', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
          titledMulti: {
            type: 'array',
            description: 'Select multiple options with titles',
            items: { anyOf: [{ const: 'value1', title: 'First Choice' }, { const: 'value2', title: 'Second Choice' }, { const: 'value3', title: 'Third Choice' }] },
          },
        },
        required: [],
      },
    }),
    (action, content) => `Elicitation completed: action=${action}, content=${JSON.stringify(content)}`,
  );
  server.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Tool whose input schema uses JSON Schema 2020-12 keywords',
      inputSchema: fromJsonSchema({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        $defs: { address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
        properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
        additionalProperties: false,
      }),
    },
    async (args) => text(`Received: ${JSON.stringify(args)}`),
  );

  server.registerResource('static-text', 'test://static-text', { description: 'A static text resource', mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }],
  }));
  server.registerResource('static-binary', 'test://static-binary', { description: 'A static binary resource', mimeType: 'image/png' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG }],
  }));
  server.registerResource('watched-resource', WATCHED_URI, { description: `A resource that changes every ${WATCHED_PERIOD_MS / 1000} s (subscribe to it)`, mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: `Watched resource content, revision ${watchedRevision()}` }],
  }));
  server.registerResource(
    'template',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { description: 'A resource template with a parameter', mimeType: 'application/json' },
    async (uri, { id }) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }] }),
  );

  server.registerPrompt('test_simple_prompt', { description: 'A simple prompt without arguments' }, async () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
  }));
  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with arguments',
      argsSchema: z.object({
        arg1: completable(z.string().describe('First test argument'), (value) => ['testValue1', 'testValue2', 'test'].filter((v) => v.startsWith(value ?? ''))),
        arg2: z.string().describe('Second test argument'),
      }),
    },
    async ({ arg1, arg2 }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }],
    }),
  );
  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    { description: 'A prompt with an embedded resource', argsSchema: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }) },
    async ({ resourceUri }) => ({
      messages: [
        { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
      ],
    }),
  );
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, async () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ],
  }));
}
