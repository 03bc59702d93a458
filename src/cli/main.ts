#!/usr/bin/env node
/**
 * Entry point. stdout is reserved for JSON-RPC in stdio mode: everything human goes to stderr.
 */
import { ConfigError, PolicyConfigError } from '../errors/startup-errors.js';
import { ToolsetError } from '../server/tool-selection.js';
import { log, registerSecret } from '../util/log.js';
import { parseArgs, USAGE, UsageError, type Command } from './args.js';

async function runSandboxOnly(command: Extract<Command, { kind: 'sandbox' }>): Promise<void> {
  const { startSandbox } = await import('../sandbox/index.js');
  const sandbox = await startSandbox({ host: command.host, port: command.port, ...(command.chaos && { chaos: command.chaos }) });
  const chaos = sandbox.getChaos();
  // This command exists to hand the test credentials to another project, so it prints them.
  process.stdout.write(
    [
      `Twilio sandbox listening at ${sandbox.baseUrl}`,
      `  Account SID:            ${sandbox.accountSid}`,
      `  Auth token:             ${sandbox.authToken}`,
      `  Test sender:            ${sandbox.testSenderNumber}`,
      `  Messaging service SID:  ${sandbox.messagingServiceSid}`,
      `Point the twilio SDK at it with a RequestClient that rewrites https://api.twilio.com to ${sandbox.baseUrl}.`,
      // The seed is printed so a failing run can be replayed with --chaos-seed.
      ...(chaos
        ? [
            `Chaos on ${chaos.methods.join('/')} ${chaos.paths.join(' | ')}: 429 ${chaos.rate429}, 5xx ${chaos.rate5xx}, reset-before ${chaos.rateResetBefore}, reset-after ${chaos.rateResetAfter}, latency ${chaos.latencyMs.min}-${chaos.latencyMs.max} ms, account rps ${chaos.accountRps ?? 'unlimited'}${chaos.accountRps ? ` (${chaos.accountRpsScope})` : ''}, seed ${chaos.seed}`,
          ]
        : []),
      '',
    ].join('\n'),
  );
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function runAuditExport(command: Extract<Command, { kind: 'audit-export' }>): Promise<void> {
  const [{ openStoreInDir }, { resolveDataDir }, { toAuditView }] = await Promise.all([
    import('../store/sqlite-store.js'),
    import('../store/data-dir.js'),
    import('../services/audit.js'),
  ]);
  const since = command.since ? new Date(command.since) : undefined;
  if (since && Number.isNaN(since.getTime())) throw new UsageError(`--since must be an ISO 8601 time; got "${command.since}".`);
  const store = openStoreInDir(resolveDataDir());
  try {
    const entries = (await store.listAudit({ since, limit: Number.MAX_SAFE_INTEGER })).reverse();
    for (const entry of entries) process.stdout.write(`${JSON.stringify(toAuditView(entry))}\n`);
  } finally {
    await store.close();
  }
}

async function runServer(command: Extract<Command, { kind: 'serve' }>): Promise<void> {
  const [{ startApp }, { createServer }] = await Promise.all([import('./start-app.js'), import('../server/create-server.js')]);
  const app = await startApp({
    forceSandbox: command.forceSandbox,
    readOnly: command.readOnly,
    toolsets: command.toolsets,
    webhookPort: command.transport === 'http' ? 'shared' : command.webhookPort,
    policyFile: command.policyFile,
  });
  // The conformance suite's fixture tools exist only for that suite: never registered otherwise.
  const extend =
    process.env.MCP_CONFORMANCE_FIXTURES === '1' ? (await import('../server/conformance-fixtures.js')).registerConformanceFixtures : undefined;
  if (extend) log.warn('MCP_CONFORMANCE_FIXTURES=1: registering the conformance-suite fixture tools, resources and prompts.');
  const factory = () => createServer({
      services: app.services,
      tools: app.tools.enabled,
      instructions: app.instructions,
      events: app.events,
      firstContactWithoutElicitation: app.policy.firstContactWithoutElicitation,
      extend,
    });

  let closing = false;
  const shutdown = async (code: number) => {
    if (closing) return;
    closing = true;
    await Promise.race([
      Promise.all([transport.close(), app.close()]),
      new Promise((resolve) => setTimeout(resolve, 3000).unref()),
    ]);
    process.exit(code);
  };

  let transport: { close(): Promise<void> };
  if (command.transport === 'http') {
    const bearerToken = process.env.TWILIO_MCP_HTTP_TOKEN?.trim() || undefined;
    registerSecret(bearerToken);
    if (!['127.0.0.1', 'localhost', '::1'].includes(command.host) && !bearerToken) {
      throw new UsageError(
        `Binding ${command.host} exposes the server beyond this machine: set TWILIO_MCP_HTTP_TOKEN (clients then send Authorization: Bearer <token>), or use --host 127.0.0.1.`,
      );
    }
    // Rate limiting guards a server others can reach; on loopback it is opt-in.
    const loopback = ['127.0.0.1', 'localhost', '::1'].includes(command.host);
    const perMinute = Number(process.env.TWILIO_MCP_RATE_LIMIT_PER_MINUTE ?? (loopback ? 0 : 600));
    const [{ startHttp }, { mountDashboard }] = await Promise.all([import('../transports/http.js'), import('../dashboard/mount.js')]);
    const allowedHosts = process.env.TWILIO_MCP_ALLOWED_HOSTS?.split(',').map((h) => h.trim()).filter(Boolean);
    // /dashboard: its routes and page load on its first request, not here.
    const dashboard = mountDashboard(loopback, () => {
      const { insights, campaigns, inbox, voice, ivr, audit } = app.services;
      const callsEnabled = app.tools.enabled.some((t) => t.toolset === 'voice');
      return {
        access: { loopback, bearerToken, allowedHosts: allowedHosts?.length ? allowedHosts : [command.host] },
        sources: {
          insights,
          campaigns,
          inbox,
          voice,
          ivr,
          audit,
          callsEnabled,
          campaignControl: app.tools.enabled.some((t) => t.name === 'control_campaign'),
          describePolicy: () => app.policy.describe({ calls: callsEnabled }),
        },
        events: app.events,
        mode: app.mode,
      };
    });
    const http = await startHttp(factory, {
      host: command.host,
      port: command.port,
      stateless: command.stateless,
      bearerToken,
      allowedHosts,
      rateLimit: Number.isFinite(perMinute) && perMinute > 0 ? { perMinute, burst: Math.max(10, Math.round(perMinute / 5)) } : undefined,
      extraRoutes: async (req, res) => (await dashboard.route(req, res)) || app.handleWebhook(req, res),
      upgrade: app.handleUpgrade,
      // 2026-07-28 clients hear of resource changes only through the handler's event bus.
      resourceUpdates: (await import('../server/twilio-resources.js')).twilioResourceChanges(app.events),
    });
    app.setReceiverLocalUrl(http.url.replace(/\/mcp$/, ''));
    transport = {
      close: async () => {
        await dashboard.close();
        await http.close();
      },
    };
    log.info(`MCP Streamable HTTP at ${http.url} (${command.stateless ? 'stateless' : 'sessions'}; ${app.mode})`);
    dashboard.announce(http.url.replace(/\/mcp$/, ''));
  } else {
    const { startStdio } = await import('../transports/stdio.js');
    transport = startStdio(factory, () => void shutdown(0));
  }
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
}

async function main(): Promise<void> {
  const command = parseArgs(process.argv.slice(2));
  switch (command.kind) {
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return;
    case 'version':
      process.stdout.write(`mcp-server-twilio ${(await import('../server/create-server.js')).SERVER_VERSION}\n`);
      return;
    case 'sandbox':
      return runSandboxOnly(command);
    case 'audit-export':
      return runAuditExport(command);
    case 'serve':
      return runServer(command);
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    log.error(`${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (error instanceof ToolsetError) {
    log.error(error.message);
    process.exit(2);
  }
  if (error instanceof PolicyConfigError) {
    log.error(`${error.message}\nFix the policy file or variable(s) above and start again.`);
    process.exit(78);
  }
  if (error instanceof ConfigError) {
    log.error(`${error.message}\nFix the environment variable(s) above and start again. Unset all TWILIO_* credentials to use the sandbox.`);
    process.exit(78);
  }
  log.error(`Could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
