import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ActivityEvent, ActivityFeed } from '../core/activity-feed.js';
import type { Orchestrator } from '../core/ports.js';
import { sendError } from './error-response.js';
import { activityJson } from './status-payload.js';
import { StatusSnapshot, type StatusSnapshotDeps } from './status-snapshot.js';

export interface StatusStreamSettings {
  /** Concurrent stream clients; beyond → 429. */
  readonly maxClients: number;
  /** A `state` frame at least this often. */
  readonly stateIntervalMs: number;
  /**
   * After a change, a `state` frame within this delay (changes in between are coalesced). Stretched to
   * 10 × the last frame's build time, so frames never take more than ~10% of the event loop (a frame
   * for 1,000 functions takes tens of milliseconds: bench/status-stream.mjs).
   */
  readonly changeDelayMs: number;
  /** A comment line this often, so proxies keep the connection open. Default 15 000. */
  readonly heartbeatMs?: number;
  /** Activity events kept for a new client's first frame (`RecentActivity`). Default 100. */
  readonly recentActivityLimit?: number;
}

export interface StatusStreamDeps extends StatusSnapshotDeps {
  readonly orchestrator: Pick<Orchestrator, 'functions' | 'subscribe'>;
  readonly feed: ActivityFeed;
  readonly settings: StatusStreamSettings;
  /** Streams end when this turns from true to false (shutdown starts), so draining does not wait for them. */
  readonly isReady: () => boolean;
}

interface Client {
  readonly res: ServerResponse;
  /** A state frame was skipped while the socket was congested: send the latest on drain. */
  stale: boolean;
}

const READY_CHECK_MS = 250;
const ACTIVITY_FLUSH_MS = 50;
const ACTIVITY_BATCH_LIMIT = 500;
/** Every this many interval frames, queue counts are re-read for every function. */
const FULL_REFRESH_EVERY = 15;

/**
 * `GET /status-functions-stream` (reference §1.6): Server-Sent Events with `state` frames (at a fixed
 * interval and soon after every change, coalesced) and `activity` / `activity_batch` frames from the
 * activity feed. Works only while someone watches: with no client it holds no timer and no feed listener.
 * Every frame is serialized once for all clients; a client whose socket is congested skips frames
 * (the next state frame makes it whole again) instead of buffering without bound.
 */
export class StatusStream {
  readonly #d: StatusStreamDeps;
  readonly #clients = new Set<Client>();
  readonly #snapshot: StatusSnapshot;
  readonly #recent: object[] = [];
  #pendingActivity: object[] = [];
  #droppedActivity = 0;
  #activitySeq = 0;
  #timers: NodeJS.Timeout[] = [];
  #changeTimer: NodeJS.Timeout | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #unsubscribes: (() => void)[] = [];
  #building: Promise<void> | undefined;
  #rebuild = false;
  #lastSentMs = 0;
  #lastBuildMs = 0;
  #ticks = 0;
  #wasReady = false;

  constructor(deps: StatusStreamDeps) {
    this.#d = deps;
    this.#snapshot = new StatusSnapshot(deps);
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** A state frame soon (coalesced): for changes the stream cannot see itself, such as job runs. */
  notifyChange(): void {
    if (this.#clients.size === 0 || this.#changeTimer !== undefined) return;
    const gapMs = Math.max(this.#d.settings.changeDelayMs, 10 * this.#lastBuildMs);
    const delayMs = Math.max(0, this.#lastSentMs + gapMs - this.#d.clock.now());
    this.#changeTimer = setTimeout(() => {
      this.#changeTimer = undefined;
      this.#broadcastState();
    }, delayMs);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    if (method !== 'GET') {
      res.setHeader('allow', 'GET');
      sendError(res, 'method_not_allowed', `${method} is not allowed here; use GET`);
      return;
    }
    if (this.#clients.size >= this.#d.settings.maxClients) {
      sendError(res, 'too_many_stream_clients', 'Too many status stream clients.', { 'retry-after': '5' });
      return;
    }
    req.socket.setNoDelay(true);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    const client: Client = { res, stale: true };
    this.#clients.add(client);
    res.on('drain', () => {
      if (client.stale) this.notifyChange();
    });
    res.once('close', () => this.#remove(client));
    if (this.#clients.size === 1) this.#startWatching();
    this.#firstFrame(client).catch((error: unknown) => {
      this.#d.logger.error({ err: error }, 'status stream first frame failed');
      res.end();
    });
  }

  /** Ends every stream (shutdown). */
  close(): void {
    for (const client of [...this.#clients]) client.res.end();
    this.#stopWatching();
  }

  async #firstFrame(client: Client): Promise<void> {
    const payload = await this.#snapshot.build(this.#lastSentMs === 0);
    if (!this.#clients.has(client)) return;
    client.stale = false;
    this.#write(
      client,
      `event: state\ndata: ${JSON.stringify({ ...payload, RecentActivity: this.#recent })}\n\n`,
    );
  }

  #remove(client: Client): void {
    if (!this.#clients.delete(client)) return;
    if (this.#clients.size === 0) this.#stopWatching();
  }

  #startWatching(): void {
    const { feed, orchestrator, settings } = this.#d;
    this.#unsubscribes = [
      feed.subscribe((event) => this.#onActivity(event)),
      orchestrator.subscribe(() => this.notifyChange()),
    ];
    if (this.#d.store !== undefined) {
      this.#unsubscribes.push(
        this.#d.store.onEnqueued((queue) => {
          this.#snapshot.markQueueDirty(queue);
          this.notifyChange();
        }),
      );
    }
    const every = (ms: number, fn: () => void): void => {
      const timer = setInterval(fn, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(settings.stateIntervalMs, () => {
      this.#ticks++;
      this.#broadcastState();
    });
    every(settings.heartbeatMs ?? 15_000, () => this.#writeAll(': heartbeat\n\n'));
    this.#wasReady = this.#d.isReady();
    every(READY_CHECK_MS, () => {
      const ready = this.#d.isReady();
      if (this.#wasReady && !ready) this.close();
      this.#wasReady = ready;
    });
  }

  #stopWatching(): void {
    for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    clearTimeout(this.#changeTimer);
    clearTimeout(this.#flushTimer);
    this.#changeTimer = undefined;
    this.#flushTimer = undefined;
    this.#pendingActivity = [];
    this.#recent.length = 0;
    this.#ticks = 0;
    this.#lastSentMs = 0;
  }

  #onActivity(event: ActivityEvent): void {
    const json = activityJson(event, `${this.#d.nodeId}-${++this.#activitySeq}`, this.#d.nodeId);
    this.#recent.push(json);
    if (this.#recent.length > (this.#d.settings.recentActivityLimit ?? 100)) this.#recent.shift();
    if (this.#pendingActivity.length < ACTIVITY_BATCH_LIMIT) this.#pendingActivity.push(json);
    else this.#droppedActivity++;
    this.#flushTimer ??= setTimeout(() => this.#flushActivity(), ACTIVITY_FLUSH_MS);
    if (event.kind === 'enqueue' || event.kind === 'dequeue' || event.kind === 'attempt_end') {
      this.#snapshot.markQueueDirty(event.function);
    }
    // Request in/out only move the last activity: the client follows it from the activity frames.
    if (event.kind !== 'request_in' && event.kind !== 'request_out') this.notifyChange();
  }

  #flushActivity(): void {
    this.#flushTimer = undefined;
    const batch = this.#pendingActivity;
    this.#pendingActivity = [];
    if (batch.length === 1) this.#writeAll(`event: activity\ndata: ${JSON.stringify(batch[0])}\n\n`, true);
    else if (batch.length > 1)
      this.#writeAll(`event: activity_batch\ndata: ${JSON.stringify(batch)}\n\n`, true);
    if (this.#droppedActivity > 0) {
      this.#writeAll(
        `event: activity_dropped\ndata: ${JSON.stringify({ Count: this.#droppedActivity })}\n\n`,
        true,
      );
      this.#droppedActivity = 0;
    }
  }

  /** Builds and sends a state frame; builds are serialized, and one requested meanwhile runs after. */
  #broadcastState(): void {
    if (this.#building !== undefined) {
      this.#rebuild = true;
      return;
    }
    const full = this.#ticks % FULL_REFRESH_EVERY === 0;
    const startedMs = performance.now();
    this.#building = this.#snapshot
      .build(full || this.#lastSentMs === 0)
      .then((payload) => {
        const frame = `event: state\ndata: ${JSON.stringify({ ...payload, RecentActivity: [] })}\n\n`;
        for (const client of this.#clients) {
          if (client.res.writableNeedDrain) client.stale = true;
          else {
            client.stale = false;
            this.#write(client, frame);
          }
        }
      })
      .catch((error: unknown) => this.#d.logger.error({ err: error }, 'status stream frame failed'))
      .finally(() => {
        this.#building = undefined;
        this.#lastBuildMs = performance.now() - startedMs;
        this.#lastSentMs = this.#d.clock.now();
        if (this.#rebuild) {
          this.#rebuild = false;
          this.notifyChange();
        }
      });
  }

  #writeAll(frame: string, skipCongested = false): void {
    for (const client of this.#clients) {
      if (skipCongested && client.res.writableNeedDrain) continue;
      this.#write(client, frame);
    }
  }

  #write(client: Client, frame: string): void {
    if (!client.res.writableEnded && !client.res.destroyed) client.res.write(frame);
  }
}
