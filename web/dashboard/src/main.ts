/**
 * The dashboard page: signs in (one-time link in the URL fragment, or the server's token),
 * then opens ONE event stream for the chosen window and redraws each panel the server
 * pushes. No polling: when the stream drops, it is opened again (with a new ticket).
 */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { api, session, Unauthorized } from './api.js';
import { byId, h, replace } from './dom.js';
import { renderCalls } from './panels/calls.js';
import { renderCampaigns } from './panels/campaigns.js';
import { renderDelivery, resizeDelivery } from './panels/delivery.js';
import { renderFailures } from './panels/failures.js';
import { renderGuardrails } from './panels/guardrails.js';
import { renderInbox } from './panels/inbox.js';
import { isError, type Panels } from './types.js';

const renderers: { [K in keyof Panels]-?: (root: HTMLElement, data: Exclude<Panels[K], undefined | { error: string }>) => void } = {
  delivery: renderDelivery,
  failures: renderFailures,
  campaigns: renderCampaigns,
  inbox: renderInbox,
  calls: renderCalls,
  guardrails: renderGuardrails,
};

const status = byId('live-status');
const setStatus = (state: 'live' | 'connecting' | 'reconnecting' | 'signed-out', text: string) => {
  status.dataset.state = state;
  status.textContent = text;
};

let stream: EventSource | undefined;
let retryMs = 1000;
let retryTimer: number | undefined;

function showPanels(panels: Panels): void {
  for (const [name, data] of Object.entries(panels) as Array<[keyof Panels, unknown]>) {
    const root = document.querySelector<HTMLElement>(`[data-panel="${name}"]`);
    if (!root || data === undefined) continue;
    if (isError(data)) {
      replace(root, h('p', { class: 'error' }, `This panel could not be read: ${data.error}`));
      continue;
    }
    try {
      (renderers[name] as (root: HTMLElement, data: unknown) => void)(root, data);
      root.dataset.updated = new Date().toISOString();
    } catch (error) {
      replace(root, h('p', { class: 'error' }, `This panel could not be drawn: ${error instanceof Error ? error.message : String(error)}`));
    }
  }
}

function signedOut(reason: string): void {
  stream?.close();
  stream = undefined;
  window.clearTimeout(retryTimer);
  session.clear();
  byId('panels').hidden = true;
  byId('sign-out').hidden = true;
  byId('signin').hidden = false;
  byId('signin-reason').textContent = reason;
  setStatus('signed-out', 'Signed out');
}

async function connect(): Promise<void> {
  stream?.close();
  window.clearTimeout(retryTimer);
  setStatus(stream ? 'reconnecting' : 'connecting', 'Connecting…');
  let ticket: string;
  try {
    ({ ticket } = await api.streamTicket());
  } catch (error) {
    if (error instanceof Unauthorized) return signedOut(error.message);
    return retryLater();
  }
  const period = byId<HTMLSelectElement>('window').value;
  const source = new EventSource(`/dashboard/api/events?${new URLSearchParams({ ticket, period })}`);
  stream = source;
  source.addEventListener('open', () => {
    retryMs = 1000;
    setStatus('live', 'Live');
  });
  source.addEventListener('panels', (event) => {
    setStatus('live', 'Live');
    showPanels(JSON.parse((event as MessageEvent<string>).data) as Panels);
  });
  source.addEventListener('error', () => {
    // The ticket was single-use: EventSource's own retry would be refused, so start over.
    if (stream !== source) return;
    source.close();
    retryLater();
  });
}

function retryLater(): void {
  setStatus('reconnecting', `Reconnecting in ${Math.round(retryMs / 1000)} s…`);
  retryTimer = window.setTimeout(() => void connect(), retryMs);
  retryMs = Math.min(30_000, retryMs * 2);
}

function signedIn(): void {
  byId('signin').hidden = true;
  byId('panels').hidden = false;
  byId('sign-out').hidden = false;
  void connect();
}

async function boot(): Promise<void> {
  const access = await api.access().catch(() => undefined);
  byId('signin-advice').textContent = access?.sign_in ?? '';
  const mode = byId('mode');
  mode.hidden = access?.mode === undefined;
  mode.textContent = access?.mode === 'sandbox' ? 'Sandbox: nothing reaches a phone' : 'Live Twilio account';
  mode.dataset.mode = access?.mode ?? '';
  byId('new-link').hidden = !access?.loopback;
  byId('signin-form').hidden = access !== undefined && !access.token_sign_in;

  // A one-time link: its token is in the fragment (never sent to a server); spend it, then drop it from the address bar.
  const fromLink = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromLink) {
    history.replaceState(null, '', location.pathname + location.search);
    try {
      await api.signIn(fromLink);
    } catch (error) {
      return signedOut(error instanceof Error ? error.message : String(error));
    }
  }
  if (session.get()) signedIn();
  else signedOut('');
}

byId('window').addEventListener('change', () => {
  if (session.get()) void connect();
});
byId('sign-out').addEventListener('click', () => void api.signOut().then(() => signedOut('You signed out.')));
byId('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = byId<HTMLInputElement>('signin-token');
  const token = input.value.trim();
  input.value = '';
  if (!token) return;
  api.signIn(token).then(signedIn, (error: unknown) => signedOut(error instanceof Error ? error.message : String(error)));
});
byId('new-link').addEventListener('click', () => {
  const said = byId('new-link-status');
  api.newLink().then(
    () => (said.textContent = 'Printed: open the link from the server\'s stderr.'),
    (error: unknown) => (said.textContent = error instanceof Error ? error.message : String(error)),
  );
});
window.addEventListener('resize', resizeDelivery);

void boot();
