/**
 * The live feed: a new stream gets every panel; a burst of changes rebuilds each affected
 * panel once, for all the streams of a window; a closed stream or a dead session is let go.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { LiveFeed, panelsChangedBy } from '../../src/dashboard/live-feed.js';
import { PANELS, type DashboardWindow, type PanelName } from '../../src/dashboard/panels.js';

class FakeResponse extends EventEmitter {
  chunks: string[] = [];
  status = 0;
  headers: Record<string, string> = {};
  writableEnded = false;
  destroyed = false;
  writableLength = 0;
  writeHead(status: number, headers: Record<string, string>) {
    this.status = status;
    this.headers = headers;
    return this;
  }
  write(chunk: string) {
    this.chunks.push(chunk);
    return true;
  }
  end() {
    this.writableEnded = true;
    this.emit('close');
  }
  destroy() {
    this.destroyed = true;
    this.emit('close');
  }
  /** The panels of every `panels` event written so far. */
  frames(): Array<Record<string, unknown>> {
    return this.chunks.filter((c) => c.startsWith('event: panels\n')).map((c) => JSON.parse(c.slice('event: panels\ndata: '.length)));
  }
}

const until = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error(`never: ${what}`);
};

function feedWithCounter(options = {}) {
  const builds: Array<{ window: DashboardWindow; panels: readonly PanelName[] }> = [];
  const live = new Set<object>();
  const feed = new LiveFeed(
    async (window, panels) => {
      builds.push({ window, panels });
      return Object.fromEntries(panels.map((p) => [p, { built: builds.length }]));
    },
    (session) => live.has(session),
    { minIntervalMs: 20, callsMinIntervalMs: 60, ...options },
  );
  return { feed, builds, live };
}

describe('LiveFeed', () => {
  it('a new stream gets every panel at once, as server-sent events with the security headers', async () => {
    const { feed, builds, live } = feedWithCounter();
    const session = {};
    live.add(session);
    const res = new FakeResponse();
    feed.open(res as unknown as ServerResponse, { period: 'today' }, session);
    await until('first frame', () => res.frames().length === 1);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(Object.keys(res.frames()[0]!).sort()).toEqual([...PANELS].sort());
    expect(builds).toHaveLength(1);
    feed.close();
  });

  it('coalesces a burst: a hundred changes rebuild each panel once, for every stream of the window', async () => {
    const { feed, builds, live } = feedWithCounter();
    const session = {};
    live.add(session);
    const a = new FakeResponse();
    const b = new FakeResponse();
    feed.open(a as unknown as ServerResponse, { period: 'today' }, session);
    feed.open(b as unknown as ServerResponse, { period: 'today' }, session);
    await until('first frames', () => a.frames().length === 1 && b.frames().length === 1);
    for (let i = 0; i < 100; i++) feed.changed(panelsChangedBy({ kind: 'message_status', sid: `SM${i}`, status: 'delivered' }));
    await until('update', () => a.frames().length === 2 && b.frames().length === 2);
    // Two initial builds (one per new stream), then one for the burst.
    expect(builds).toHaveLength(3);
    expect([...builds[2]!.panels].sort()).toEqual(['campaigns', 'delivery', 'failures']);
    expect(Object.keys(a.frames()[1]!).sort()).toEqual(['campaigns', 'delivery', 'failures']);
    expect(b.frames()[1]).toEqual(a.frames()[1]);
    feed.close();
  });

  it('streams of another window get their own builds; a closed stream gets nothing more', async () => {
    const { feed, builds, live } = feedWithCounter();
    const session = {};
    live.add(session);
    const today = new FakeResponse();
    const month = new FakeResponse();
    feed.open(today as unknown as ServerResponse, { period: 'today' }, session);
    feed.open(month as unknown as ServerResponse, { period: 'this_month' }, session);
    await until('first frames', () => today.frames().length === 1 && month.frames().length === 1);
    month.end();
    feed.changed(['inbox']);
    await until('update', () => today.frames().length === 2);
    expect(builds.slice(2).map((b) => b.window)).toEqual([{ period: 'today' }]);
    expect(month.frames()).toHaveLength(1);
    feed.close();
  });

  it('the streams of a session that is gone are ended', async () => {
    const { feed, live } = feedWithCounter();
    const session = {};
    live.add(session);
    const res = new FakeResponse();
    feed.open(res as unknown as ServerResponse, { period: 'today' }, session);
    await until('first frame', () => res.frames().length === 1);
    live.delete(session);
    feed.dropDeadSessions();
    expect(res.writableEnded).toBe(true);
    expect(feed.streamCount()).toBe(0);
    feed.close();
  });

  it('maps each event to the panels it changes', () => {
    expect(panelsChangedBy({ kind: 'inbound_message', messageSid: 'SM1', from: '+1', to: '+2' })).toEqual(['inbox', 'campaigns']);
    expect(panelsChangedBy({ kind: 'call_status', sid: 'CA1', status: 'completed' })).toEqual(['calls']);
    expect(panelsChangedBy({ kind: 'activity', tool: 'send_sms', failed: true })).toContain('guardrails');
    expect(panelsChangedBy({ kind: 'activity', tool: 'make_call', failed: false })).toContain('calls');
    expect(panelsChangedBy({ kind: 'campaign_progress' })).toEqual(expect.arrayContaining(['campaigns', 'delivery', 'guardrails']));
  });

  it('admits a bounded number of streams per session', () => {
    const { feed, live } = feedWithCounter({ maxStreamsPerSession: 1 });
    const session = {};
    live.add(session);
    expect(feed.admit(session)).toBeUndefined();
    feed.open(new FakeResponse() as unknown as ServerResponse, { period: 'today' }, session);
    expect(feed.admit(session)).toMatch(/Too many/);
    expect(feed.admit({})).toBeUndefined();
    feed.close();
  });
});
