import type { KV, KvEntry } from '@nats-io/kv';
import { monotonicClock, type Clock } from '../../core/clock.js';
import { leaseTimings, type Leadership, type LeaseTimings } from '../../core/leadership.js';
import type { Logger } from '../../core/ports.js';
import { withDeadline } from './nats-connection.js';
import { isLive } from './nats-kv-records.js';
import { isWrongLastSequence } from './nats-resources.js';

export interface NatsLeadershipOptions {
  /** The leader bucket (history 1, `allow_direct: false`). */
  readonly kv: KV;
  readonly nodeId: string;
  /** How long a lease lasts without renewal (`SLIMFAAS_LEADER_LEASE_MS`); the other timings derive from it. */
  readonly leaseMs: number;
  /** Durations only: a monotonic clock by default (a wall-clock jump must not extend a lease). */
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** The lease's key; default `leader` (tests run several elections on one server). */
  readonly key?: string;
}

/** The lease record as a follower saw it: `sinceMs` is when this node first read this revision. */
interface Observed {
  readonly revision: number;
  readonly holder: string;
  readonly leaseMs: number;
  readonly sinceMs: number;
}

/**
 * Leader election on a NATS KV key, designed for nats-server 2.9 (which ignores per-key TTLs and raises no
 * watch event on expiry): the value is `{nodeId, leaseMs}`, every write is a compare-and-set on the key's
 * revision, and expiry is judged by durations on each node's own clock, never by comparing wall clocks.
 *
 * - The leader rewrites the key every `renewMs` (`update` at its last revision). It leads until
 *   `sentAt + leaseMs − marginMs`, `sentAt` being when the last *confirmed* renewal was sent.
 * - A follower reads the key every `pollMs`. It takes over (`update` at the revision it read) only after the
 *   same revision stayed unchanged for `leaseMs` by its own clock since it first read it. It read it after it
 *   was written, so after the old leader sent it: the old leader stepped down `marginMs` before.
 * - An absent or deleted key (a leader's `close()`) is taken at once with `create`.
 * - Compare-and-set makes every takeover exclusive: of two candidates, one `update` fails.
 * - A node partitioned from NATS cannot renew: it steps down on its own timer; once reconnected it reads the
 *   key again and follows (or takes its own stale lease back if nobody else took it).
 */
export class NatsLeadership implements Leadership {
  readonly nodeId: string;
  readonly #kv: KV;
  readonly #key: string;
  readonly #t: LeaseTimings;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #value: string;
  readonly #listeners = new Set<(isLeader: boolean) => void>();
  #ownRevision: number | undefined;
  #leaderUntilMs = 0;
  #observed: Observed | undefined;
  #reported = false;
  #failing = false;
  #started = false;
  #roundTimer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: NatsLeadershipOptions) {
    this.nodeId = options.nodeId;
    this.#kv = options.kv;
    this.#key = options.key ?? 'leader';
    this.#t = leaseTimings(options.leaseMs);
    this.#clock = options.clock ?? monotonicClock;
    this.#logger = options.logger;
    this.#value = JSON.stringify({ nodeId: options.nodeId, leaseMs: options.leaseMs });
  }

  isLeader(): boolean {
    return (
      this.#closing === undefined &&
      this.#ownRevision !== undefined &&
      this.#clock.now() < this.#leaderUntilMs
    );
  }

  leaderId(): string | undefined {
    if (this.isLeader()) return this.nodeId;
    const seen = this.#observed;
    if (seen === undefined || seen.holder === this.nodeId) return undefined;
    return this.#clock.now() - seen.sinceMs < seen.leaseMs ? seen.holder : undefined;
  }

  subscribe(listener: (isLeader: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#started || this.#closing !== undefined) return;
    this.#started = true;
    this.#scheduleRound(0);
  }

  /** Runs one election round now (renew, or read and maybe take over) and resolves when it ends. */
  refresh(): Promise<void> {
    this.#round ??= this.#runRound().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  close(): Promise<void> {
    this.#closing ??= this.#release();
    return this.#closing;
  }

  async #release(): Promise<void> {
    clearTimeout(this.#roundTimer);
    clearTimeout(this.#expiryTimer);
    this.#report();
    await this.#round?.catch(() => undefined);
    const revision = this.#ownRevision;
    this.#ownRevision = undefined;
    if (revision === undefined) return;
    // Deleting only our own revision: if someone already took over, their lease stays.
    await withDeadline(this.#kv.delete(this.#key, { previousSeq: revision }), this.#t.requestTimeoutMs).catch(
      (error: unknown) => this.#logger?.warn({ err: error }, 'could not release the leadership lease'),
    );
  }

  #scheduleRound(delayMs: number): void {
    if (this.#closing !== undefined) return;
    clearTimeout(this.#roundTimer);
    this.#roundTimer = setTimeout(() => {
      void this.refresh().finally(() => {
        this.#scheduleRound(this.#ownRevision !== undefined ? this.#t.renewMs : this.#t.pollMs);
      });
    }, delayMs);
    this.#roundTimer.unref();
  }

  async #runRound(): Promise<void> {
    try {
      if (this.#ownRevision !== undefined) await this.#renew();
      else await this.#campaign();
      if (this.#failing) this.#logger?.info({ nodeId: this.nodeId }, 'leader election reaches NATS again');
      this.#failing = false;
    } catch (error) {
      // A held lease simply runs out (the expiry timer steps down); followers keep what they saw.
      if (!this.#failing) this.#logger?.warn({ err: error }, 'leader election cannot reach NATS');
      this.#failing = true;
    }
    this.#report();
  }

  async #renew(): Promise<void> {
    const sentAtMs = this.#clock.now();
    try {
      const revision = await this.#request(this.#kv.update(this.#key, this.#value, this.#ownRevision ?? 0));
      this.#confirm(revision, sentAtMs);
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
      // Someone took over, or a renewal of ours that timed out landed after all: read and decide.
      this.#ownRevision = undefined;
      await this.#campaign();
    }
  }

  async #campaign(): Promise<void> {
    const entry = await this.#request(this.#kv.get(this.#key));
    const nowMs = this.#clock.now();
    if (!isLive(entry)) return this.#takeOver(entry);
    const record = parseRecord(entry, this.#t.leaseMs);
    // Our own stale lease (we stepped down, nobody took it): nobody else acts on it, take it back now.
    if (record.holder === this.nodeId) return this.#takeOver(entry);
    const seen = this.#observed;
    if (seen?.revision !== entry.revision) {
      this.#observed = { revision: entry.revision, ...record, sinceMs: nowMs };
      return;
    }
    if (nowMs - seen.sinceMs >= Math.max(seen.leaseMs, this.#t.leaseMs)) await this.#takeOver(entry);
  }

  /** Writes our lease over `entry` (absent, deleted or expired) with compare-and-set. */
  async #takeOver(entry: KvEntry | null): Promise<void> {
    const sentAtMs = this.#clock.now();
    try {
      const written =
        entry === null
          ? this.#kv.create(this.#key, this.#value)
          : this.#kv.update(this.#key, this.#value, entry.revision);
      this.#confirm(await this.#request(written), sentAtMs);
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
      // Another candidate won; the next round reads its lease.
    }
  }

  #confirm(revision: number, sentAtMs: number): void {
    this.#ownRevision = revision;
    this.#leaderUntilMs = sentAtMs + this.#t.leaseMs - this.#t.marginMs;
    this.#observed = { revision, holder: this.nodeId, leaseMs: this.#t.leaseMs, sinceMs: sentAtMs };
    clearTimeout(this.#expiryTimer);
    if (this.#closing !== undefined) return;
    // Steps down by its own clock when no renewal is confirmed in time (isLeader() already reads the clock).
    this.#expiryTimer = setTimeout(
      () => this.#report(),
      Math.max(0, this.#leaderUntilMs - this.#clock.now()),
    );
    this.#expiryTimer.unref();
  }

  #request<T>(promise: Promise<T>): Promise<T> {
    return withDeadline(promise, this.#t.requestTimeoutMs);
  }

  /** Tells listeners when `isLeader()` changed since the last report. */
  #report(): void {
    const leader = this.isLeader();
    if (leader === this.#reported) return;
    this.#reported = leader;
    this.#logger?.info(
      { nodeId: this.nodeId },
      leader ? 'this node is now the leader' : 'this node is no longer the leader',
    );
    for (const listener of this.#listeners) {
      try {
        listener(leader);
      } catch (error) {
        this.#logger?.error({ err: error }, 'leadership listener failed');
      }
    }
  }
}

function parseRecord(entry: KvEntry, defaultLeaseMs: number): { holder: string; leaseMs: number } {
  try {
    const value = JSON.parse(entry.string()) as { nodeId?: unknown; leaseMs?: unknown };
    return {
      holder: typeof value.nodeId === 'string' ? value.nodeId : '',
      leaseMs: typeof value.leaseMs === 'number' && value.leaseMs > 0 ? value.leaseMs : defaultLeaseMs,
    };
  } catch {
    return { holder: '', leaseMs: defaultLeaseMs };
  }
}
