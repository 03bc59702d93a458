/**
 * The composition root: configuration → (sandbox) → gateway → services.
 * Everything that needs a process-wide lifetime is created here and released by `close`.
 */
import { loadConfig, type TwilioConfig } from '../config/env.js';
import { createTwilioGateway, type GatewayTarget } from '../gateway/twilio-gateway.js';
import { SANDBOX_ACCOUNT_SID, SANDBOX_MESSAGING_SERVICE_SID, TEST_SENDER } from '../sandbox/constants.js';
import type { SandboxHandle } from '../sandbox/index.js';
import { selectTools, type ToolSelection, parseToolsets } from '../server/tool-selection.js';
import type { Services } from '../services/index.js';
import { MessagingService, type MessagingDefaults } from '../services/messaging.js';
import { ServerStatusService } from '../services/server-status.js';
import { allTools } from '../tools/index.js';
import { lazy } from '../util/lazy.js';
import { log, registerSecret } from '../util/log.js';

export interface App {
  mode: 'live' | 'sandbox';
  config: TwilioConfig;
  services: Services;
  /** The embedded sandbox, started on first use; undefined in live mode. */
  sandbox: (() => Promise<SandboxHandle>) | undefined;
  tools: ToolSelection;
  instructions: string;
  close(): Promise<void>;
}

export interface StartOptions {
  forceSandbox: boolean;
  readOnly: boolean;
  /** Raw toolsets list (flag wins over TWILIO_MCP_TOOLSETS). */
  toolsets: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** TWILIO_SANDBOX_DELIVERY_MS sets how long the embedded sandbox takes to deliver a message. */
function sandboxTiming(env: NodeJS.ProcessEnv) {
  const delivered = Number(env.TWILIO_SANDBOX_DELIVERY_MS);
  if (!env.TWILIO_SANDBOX_DELIVERY_MS || !Number.isFinite(delivered) || delivered < 10) return undefined;
  return { sendingMs: Math.round(delivered / 10), sentMs: Math.round(delivered / 4), deliveredMs: Math.round(delivered) };
}

const BASE_INSTRUCTIONS =
  'Twilio messaging. Phone numbers are E.164 (+14155550123). Sends are billed and irreversible: confirm recipient and text first. ' +
  'After a send, follow delivery with get_message. A result with outcome_unknown means check list_messages before resending.';

export async function startApp(options: StartOptions): Promise<App> {
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  // Validate the tool selection before starting anything, so a typo stops the server at once.
  const readOnly = options.readOnly || /^(1|true|yes)$/i.test(env.TWILIO_MCP_READ_ONLY ?? '');
  const toolsets = parseToolsets(options.toolsets ?? env.TWILIO_MCP_TOOLSETS);
  registerSecret(config.credentials?.password);

  let sandbox: (() => Promise<SandboxHandle>) | undefined;
  let sandboxStarted = false;
  let target: GatewayTarget;
  let defaults: MessagingDefaults;
  if (!config.credentials || options.forceSandbox) {
    // Started on first use: its account SID and numbers are fixed, only port and token are not.
    sandbox = lazy(async () => {
      const { startSandbox } = await import('../sandbox/index.js');
      const handle = await startSandbox({ timing: sandboxTiming(env) });
      registerSecret(handle.authToken);
      log.debug(`embedded sandbox listening at ${handle.baseUrl}`);
      sandboxStarted = true;
      return handle;
    });
    const startSandboxNow = sandbox;
    target = {
      credentials: { accountSid: SANDBOX_ACCOUNT_SID, username: SANDBOX_ACCOUNT_SID, password: '' },
      baseUrl: undefined,
      region: undefined,
      edge: undefined,
      timeoutMs: config.timeoutMs,
      resolveEndpoint: async () => {
        const handle = await startSandboxNow();
        return { baseUrl: handle.baseUrl, password: handle.authToken };
      },
    };
    // In the sandbox only its own test numbers can send; real numbers from the environment would be refused.
    defaults = {
      defaultFrom: TEST_SENDER,
      messagingServiceSid: SANDBOX_MESSAGING_SERVICE_SID,
      whatsappFrom: `whatsapp:${TEST_SENDER}`,
      statusCallbackUrl: config.statusCallbackUrl,
    };
    log.info(
      `${config.credentials ? '--sandbox given' : 'No Twilio credentials set'}: using the embedded sandbox (a Twilio emulator in this process); ` +
        `test sender ${TEST_SENDER}. Nothing reaches a real phone.`,
    );
  } else {
    target = { credentials: config.credentials, baseUrl: config.apiBaseUrl, region: config.region, edge: config.edge, timeoutMs: config.timeoutMs };
    if (config.apiBaseUrl) log.warn(`TWILIO_MCP_API_BASE_URL is set: every Twilio request goes to ${config.apiBaseUrl}, not to Twilio.`);
    defaults = {
      defaultFrom: config.defaultFrom,
      messagingServiceSid: config.messagingServiceSid,
      whatsappFrom: config.whatsappFrom,
      statusCallbackUrl: config.statusCallbackUrl,
    };
  }

  const gateway = createTwilioGateway(target);
  const tools = selectTools(allTools, { readOnly, toolsets, sandbox: sandbox !== undefined });
  const status = new ServerStatusService({
    mode: sandbox ? 'sandbox' : 'live',
    accountSid: target.credentials.accountSid,
    apiBaseUrl: sandbox ? undefined : config.apiBaseUrl,
    defaultFrom: defaults.defaultFrom,
    messagingServiceSid: defaults.messagingServiceSid,
    whatsappFrom: defaults.whatsappFrom,
    readOnly,
    toolsets: tools.toolsets,
    enabledTools: tools.enabled.map((t) => t.name),
    hiddenTools: tools.hidden,
  });
  const services: Services = { messaging: new MessagingService(gateway, defaults), status };
  const instructions = sandbox
    ? `${BASE_INSTRUCTIONS} SANDBOX MODE: an emulator stands in for Twilio; no real messages are sent. Sender ${TEST_SENDER}. ` +
      'Twilio test numbers: to +15005550001 invalid (21211), +15005550004 opted out (21610), +15005550009 not mobile (21614). ' +
      'A recipient ending in 3003/3005/3006/3007/3008 ends undelivered/failed with error 3000x.'
    : BASE_INSTRUCTIONS;

  return {
    mode: sandbox ? 'sandbox' : 'live',
    config,
    services,
    sandbox,
    tools,
    instructions,
    close: async () => {
      if (sandbox && sandboxStarted) await (await sandbox()).close();
    },
  };
}
