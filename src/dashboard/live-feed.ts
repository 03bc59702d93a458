/**
 * Live panels over server-sent events. The page opens one stream for its window; the feed
 * listens to what changes the numbers — the store's event hub (replies, status callbacks,
 * audited tool calls) and the campaign engine's progress — marks the affected panels
 * dirty, and pushes their new JSON. The page never polls.
 *
 * Bursts are coalesced: a campaign's thousand status callbacks rebuild a panel at most once
 * per interval, once for all the streams watching the same window (the calls panel, which
 * asks Twilio per call, less often). A stream that stops reading is dropped.
 */
import type { ServerResponse } from 'node:http';
import type { TwilioEvent } from '../services/events.js';
import { log } from '../util/log.js';
import { SECURITY_HEADERS } from './headers.js';
import { PANELS, panelsStillMoving, windowKey, type DashboardWindow, type PanelName } from './panels.js';

export type PanelBuild = (window: DashboardWindow, panels: readonly PanelName[]) => Promise<Partial<Record<PanelName, unknown>>>;

export interface LiveFeedOptions {
  /** Least time between two builds of one panel for one window. Default 1 s (delivery reads Twilio's message list in live mode). */
  minIntervalMs?: number;
  /** The same for the calls panel (each build lists calls at Twilio and reads the unfinished ones). Default 5 s. */
  callsMinIntervalMs?: number;
  /** A comment line this often keeps proxies from closing an idle stream. Default 25 s. */
  heartbeatMs?: number;
  /** Open streams at most, in total and per session. */
  maxStreams?: number;
  maxStreamsPerSession?: number;
  /** Bytes a stream may have unsent before it is dropped (a reader that stopped). */
  maxBufferedBytes?: number;
}

interface Stream {
  res: ServerResponse;
  session: object;
}

interface Group {
  window: DashboardWindow;
  streams: Set<Stream>;
  dirty: Set<PanelName>;
  lastBuilt: Map<PanelName, number>;
  timer: NodeJS.Timeout | undefined;
  building: boolean;
}

/** Which panels an event changes. */
export function panelsChangedBy(event: TwilioEvent | { kind: 'campaign_progress' }): PanelName[] {
  switch (event.kind) {
    case 'inbound_message':
      return ['inbox', 'campaigns'];
    case 'message_status':
      return ['delivery', 'failures', 'campaigns'];
    case 'call_status':
      return ['calls'];
    case 'activity':
      return /call|ivr|conversation/.test(event.tool) ? [...PANELS] : ['delivery', 'failures', 'campaigns', 'inbox', 'guardrails'];
    case 'campaign_progress':
      // Campaign sends are no tool calls: their progress is what moves sends, caps and spend.
      return ['campaigns', 'delivery', 'failures', 'guardrails'];
    case 'resync':
      // Events from other instances may have been missed: everything may have moved.
      return [...PANELS];
  }
}

export class LiveFeed {
  private readonly groups = new Map<string, Group>();
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly build: PanelBuild,
    private readonly isLive: (session: object) => boolean,
    private readonly options: LiveFeedOptions = {},
  ) {
    this.heartbeat = setInterval(() => {
      for (const stream of this.streams()) this.write(stream, ': keep-alive\n\n');
    }, options.heartbeatMs ?? 25_000);
    this.heartbeat.unref();
  }

  /** Panels changed: every window's streams get them rebuilt. */
  changed(panels: readonly PanelName[]): void {
    if (this.closed) return;
    for (const group of this.groups.values()) {
      for (const panel of panels) group.dirty.add(panel);
      this.schedule(group);
    }
  }

  streamCount(session?: object): number {
    return [...this.streams()].filter((s) => session === undefined || s.session === session).length;
  }

  /** Refusal text when `session` may not open another stream now; undefined when it may. */
  admit(session: object): string | undefined {
    if (this.streamCount() >= (this.options.maxStreams ?? 200)) return 'Too many dashboard streams are open on this server; close some tabs.';
    if (this.streamCount(session) >= (this.options.maxStreamsPerSession ?? 8)) return 'Too many dashboard streams are open for this session; close some tabs.';
    return undefined;
  }

  /** Starts an event stream on `res`: every panel at once, then the panels that change. */
  open(res: ServerResponse, window: DashboardWindow, session: object): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Proxies (nginx) must not buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    const key = windowKey(window);
    let group = this.groups.get(key);
    if (!group) {
      group = { window, streams: new Set(), dirty: new Set(), lastBuilt: new Map(), timer: undefined, building: false };
      this.groups.set(key, group);
    }
    const stream: Stream = { res, session };
    group.streams.add(stream);
    const owner = group;
    res.once('close', () => {
      owner.streams.delete(stream);
      if (owner.streams.size === 0) {
        clearTimeout(owner.timer);
        this.groups.delete(key);
      }
    });
    this.write(stream, 'retry: 3000\n\n');
    void this.build(window, PANELS)
      .then((panels) => {
        this.write(stream, frame(panels));
        this.recheckLater(owner, panels, Date.now());
      })
      .catch((error: unknown) => log.error(`dashboard: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** Ends the streams of sessions that are gone (signed out, expired). */
  dropDeadSessions(): void {
    for (const stream of this.streams()) if (!this.isLive(stream.session)) stream.res.end();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const group of this.groups.values()) clearTimeout(group.timer);
    for (const stream of this.streams()) stream.res.end();
    this.groups.clear();
  }

  private *streams(): Generator<Stream> {
    for (const group of this.groups.values()) yield* group.streams;
  }

  private interval(panel: PanelName): number {
    return panel === 'calls' ? (this.options.callsMinIntervalMs ?? 5000) : (this.options.minIntervalMs ?? 1000);
  }

  private schedule(group: Group): void {
    // A window whose last stream closed during a build is gone: nothing rebuilds it.
    if (group.timer || group.building || group.dirty.size === 0 || this.closed || group.streams.size === 0) return;
    const now = Date.now();
    const wait = Math.min(...[...group.dirty].map((p) => (group.lastBuilt.get(p) ?? 0) + this.interval(p) - now));
    group.timer = setTimeout(() => void this.flush(group), Math.max(0, wait));
    group.timer.unref();
  }

  private async flush(group: Group): Promise<void> {
    group.timer = undefined;
    const now = Date.now();
    const due = [...group.dirty].filter((p) => (group.lastBuilt.get(p) ?? 0) + this.interval(p) <= now);
    for (const p of due) {
      group.dirty.delete(p);
      group.lastBuilt.set(p, now);
    }
    if (due.length > 0) {
      group.building = true;
      try {
        this.dropDeadSessions();
        const panels = await this.build(group.window, due);
        const data = frame(panels);
        for (const stream of group.streams) this.write(stream, data);
        this.recheckLater(group, panels, now);
      } catch (error) {
        log.error(`dashboard: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        group.building = false;
      }
    }
    this.schedule(group);
  }

  /**
   * A panel showing what will change unannounced (a call not yet ended) is built again
   * after its interval, until it shows nothing that can still change. Bounded by the
   * interval, and by schedule(): a window nobody watches (any more) is not rebuilt.
   */
  private recheckLater(group: Group, built: Partial<Record<PanelName, unknown>>, builtAt: number): void {
    for (const panel of panelsStillMoving(built)) {
      group.dirty.add(panel);
      if ((group.lastBuilt.get(panel) ?? 0) < builtAt) group.lastBuilt.set(panel, builtAt);
    }
    this.schedule(group);
  }

  private write(stream: Stream, data: string): void {
    if (stream.res.writableEnded || stream.res.destroyed) return;
    if (stream.res.writableLength > (this.options.maxBufferedBytes ?? 4 * 1024 * 1024)) {
      stream.res.destroy();
      return;
    }
    stream.res.write(data);
  }
}

/** One SSE message; JSON has no raw line breaks, so one data line carries it. */
const frame = (panels: Partial<Record<PanelName, unknown>>) => `event: panels\ndata: ${JSON.stringify(panels)}\n\n`;
