/**
 * The live feed: a new stream gets every panel; a burst of changes rebuilds each affected
 * panel once, for all the streams of a window; a closed stream or a dead session is let go.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { LiveFeed, panelsChangedBy } from '../../src/dashboard/live-feed.js';
import { PANELS, panelsStillMoving, type DashboardWindow, type PanelName } from '../../src/dashboard/panels.js';

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

  /**
   * A feed whose calls panel shows one call: in progress for the first `ringingBuilds`
   * builds of that panel, completed after, as Twilio answers when nothing reports the end.
   */
  function feedWithOneCall(ringingBuilds: number, buildMs = 0) {
    const callBuilds: number[] = [];
    const live = new Set<object>();
    const feed = new LiveFeed(
      async (_window, panels) => {
        if (panels.includes('calls')) callBuilds.push(Date.now());
        // A read of Twilio takes a while: a stream can close while one is under way.
        if (buildMs > 0) await new Promise((r) => setTimeout(r, buildMs));
        const status = callBuilds.length <= ringingBuilds ? 'in-progress' : 'completed';
        return Object.fromEntries(panels.map((p) => [p, p === 'calls' ? { total: 1, calls: [{ call_sid: 'CA1', status }] } : {}]));
      },
      (session) => live.has(session),
      { minIntervalMs: 20, callsMinIntervalMs: 40 },
    );
    return { feed, callBuilds, live };
  }
  const statusesShown = (res: FakeResponse) =>
    res.frames().flatMap((f) => ((f.calls as { calls?: Array<{ status: string }> } | undefined)?.calls ?? []).map((c) => c.status));

  it('a call that ends with no status callback reaches the page: unfinished calls are read again, then no more', async () => {
    const { feed, callBuilds, live } = feedWithOneCall(3);
    const session = {};
    live.add(session);
    const res = new FakeResponse();
    feed.open(res as unknown as ServerResponse, { period: 'today' }, session);
    // No event at all: the page still learns that the call ended.
    await until('the call shown completed', () => statusesShown(res).includes('completed'));
    expect(statusesShown(res)).toEqual(['in-progress', 'in-progress', 'in-progress', 'completed']);
    // Re-reads are spaced by the calls interval, not a busy loop.
    for (let i = 1; i < callBuilds.length; i++) expect(callBuilds[i]! - callBuilds[i - 1]!).toBeGreaterThanOrEqual(35);
    // Settled: nothing is read again without an event.
    const settled = callBuilds.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(callBuilds).toHaveLength(settled);
    feed.close();
  });

  it('a window nobody watches any more is not read again, however long its calls last', async () => {
    const { feed, callBuilds, live } = feedWithOneCall(Number.POSITIVE_INFINITY, 30);
    const session = {};
    live.add(session);
    const res = new FakeResponse();
    feed.open(res as unknown as ServerResponse, { period: 'today' }, session);
    // The second read has started (it takes 30 ms): the page closes while it runs.
    await until('two reads', () => callBuilds.length >= 2);
    res.end();
    const atClose = callBuilds.length;
    await new Promise((r) => setTimeout(r, 200));
    // At most the read already under way when the stream closed.
    expect(callBuilds.length).toBeLessThanOrEqual(atClose + 1);
    feed.close();
  });

  it('only a call that can still change keeps the calls panel moving', () => {
    expect(panelsStillMoving({ calls: { calls: [{ status: 'completed' }, { status: 'busy' }, { status: 'no-answer' }, { status: 'failed' }, { status: 'canceled' }] } })).toEqual([]);
    for (const status of ['queued', 'ringing', 'in-progress']) expect(panelsStillMoving({ calls: { calls: [{ status: 'completed' }, { status }] } })).toEqual(['calls']);
    expect(panelsStillMoving({ calls: { enabled: false } })).toEqual([]);
    expect(panelsStillMoving({ delivery: {} })).toEqual([]);
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
