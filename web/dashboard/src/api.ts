/**
 * The page's side of access (see src/dashboard/access.ts): a one-time link token or the
 * bearer token buys a session token, kept in this origin's localStorage (no other origin,
 * no other port, can read it) and sent as `Authorization: Bearer` — never a cookie.
 */
const SESSION_KEY = 'mcp-server-twilio.dashboard.session';
const API = '/dashboard/api';

export class Unauthorized extends Error {}

export interface Problem {
  error: string;
  next_step?: string;
}

export const session = {
  get: (): string | null => localStorage.getItem(SESSION_KEY),
  set: (token: string) => localStorage.setItem(SESSION_KEY, token),
  clear: () => localStorage.removeItem(SESSION_KEY),
};

async function call<T>(method: string, route: string, token: string | null): Promise<T> {
  const response = await fetch(`${API}${route}`, {
    method,
    headers: { accept: 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    credentials: 'omit',
    cache: 'no-store',
  });
  const body = (await response.json().catch(() => ({ error: `HTTP ${response.status}` }))) as T & Problem;
  if (response.status === 401) throw new Unauthorized(body.next_step ? `${body.error} ${body.next_step}` : body.error);
  if (!response.ok) throw new Error(body.next_step ? `${body.error} ${body.next_step}` : body.error);
  return body;
}

export interface AccessInfo {
  loopback: boolean;
  token_sign_in: boolean;
  sign_in: string;
  mode?: 'live' | 'sandbox';
}

export const api = {
  access: () => call<AccessInfo>('GET', '/access', null),
  /** Exchanges a link token or the bearer token for a session, and keeps it. */
  signIn: async (presented: string) => {
    const { session_token } = await call<{ session_token: string }>('POST', '/session', presented);
    session.set(session_token);
  },
  signOut: async () => {
    const token = session.get();
    session.clear();
    if (token) await call('DELETE', '/session', token).catch(() => {});
  },
  newLink: () => call<{ printed: boolean }>('POST', '/link', null),
  streamTicket: () => call<{ ticket: string }>('POST', '/stream-ticket', session.get()),
  control: (campaignId: string, action: 'pause' | 'resume' | 'cancel') => call<Record<string, unknown>>('POST', `/campaigns/${campaignId}/${action}`, session.get()),
};
