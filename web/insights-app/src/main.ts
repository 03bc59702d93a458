/**
 * The show_insights view inside a host's iframe. The host (Claude, ChatGPT, VS Code, …)
 * speaks the MCP Apps postMessage protocol through the ext-apps App class: it answers
 * ui/initialize, then sends the tool's arguments and its result, which are drawn here.
 * When the host can run server tools for the view, period buttons call show_insights again.
 */
import './jitless.js';
import { App, applyDocumentTheme, applyHostStyleVariables, type McpUiHostContext } from '@modelcontextprotocol/ext-apps';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { InsightsViewSchema } from '../../../src/tools/insights-view-schema.js';
import { periodControls, renderInsights, renderProblem, renderStatus } from './render.js';
import './style.css';

const TOOL = 'show_insights';
const root = document.getElementById('app')!;
const app = new App({ name: 'mcp-server-twilio insights view', version: '0.1.0' }, {}, { autoResize: true });
/** The arguments of the call on screen: a refresh asks for the same window again. */
let args: Record<string, unknown> = {};

function textOf(result: CallToolResult): string {
  return result.content
    .filter((c): c is Extract<CallToolResult['content'][number], { type: 'text' }> => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

function controls(): HTMLElement | undefined {
  if (!app.getHostCapabilities()?.serverTools) return undefined;
  const period = typeof args.period === 'string' ? args.period : args.start || args.end ? undefined : 'today';
  return periodControls(
    period,
    (chosen) => void run({ ...(typeof args.campaign_id === 'string' && { campaign_id: args.campaign_id }), period: chosen }),
    () => void run(args),
  );
}

function show(result: CallToolResult): void {
  if (result.isError) {
    const text = textOf(result);
    // The server's failures are JSON ({error, next_step, …}); anything else is shown as it is.
    let failure: { error?: unknown; next_step?: unknown } = {};
    try {
      failure = JSON.parse(text) as typeof failure;
    } catch {
      /* not JSON */
    }
    renderProblem(root, typeof failure.error === 'string' ? failure.error : text || 'The tool failed without saying why.', typeof failure.next_step === 'string' ? failure.next_step : undefined, controls());
    return;
  }
  const parsed = InsightsViewSchema.safeParse(result.structuredContent);
  if (!parsed.success) {
    renderProblem(root, `The result could not be read: ${parsed.error.issues[0]?.message ?? 'unexpected shape'}.`, 'Ask for the figures again (get_messaging_insights has them as text).', controls());
    return;
  }
  renderInsights(root, parsed.data, controls());
}

async function run(next: Record<string, unknown>): Promise<void> {
  args = next;
  renderStatus(root, 'Loading…');
  try {
    show(await app.callServerTool({ name: TOOL, arguments: next }));
  } catch (error) {
    renderProblem(root, error instanceof Error ? error.message : String(error), undefined, controls());
  }
}

function applyHostContext(context: McpUiHostContext | undefined): void {
  if (context?.theme) applyDocumentTheme(context.theme);
  if (context?.styles?.variables) applyHostStyleVariables(context.styles.variables);
}

app.ontoolinput = ({ arguments: given }) => {
  args = given ?? {};
  renderStatus(root, 'Loading…');
};
app.ontoolresult = show;
app.ontoolcancelled = ({ reason }) => renderStatus(root, `The call was canceled${reason ? `: ${reason}` : ''}.`);
app.onhostcontextchanged = applyHostContext;
app.onerror = (error) => console.error('insights view:', error);

app.connect().then(
  () => applyHostContext(app.getHostContext()),
  (error: unknown) => renderProblem(root, `Could not connect to the host: ${error instanceof Error ? error.message : String(error)}`),
);
