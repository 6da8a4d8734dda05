/**
 * `StateStore` on NATS JetStream, for several SlimFaas replicas. Minimum server: nats-server 2.9.0 (tested on
 * Debian's 2.9.10; needs `STREAM.MSG.GET` with `next_by_subj` and KV compare-and-set). See docs/nats.md.
 *
 * Layout (created on open if missing):
 * - stream SLIMFAAS_QUEUES (work-queue retention, file storage), subjects `slimfaas.q.<queue>`: one message per
 *   element; `enqueue` resolves after the PubAck. One durable pull consumer per queue (`slimfaas-q-<queue>`).
 * - stream SLIMFAAS_DEAD_LETTERS (limits retention), subjects `slimfaas.dead.<queue>`: payload + history headers.
 * - KV slimfaas_queues: `c.<queue>.<id>` idempotence claims, `l.<queue>` the queue's ledger (delivered elements:
 *   lease, attempts, history, retry time), updated by revision compare-and-set.
 * - KV slimfaas_activity (max-merge by CAS, watched for the other replicas' activity) and slimfaas_values (expiry
 *   inside the value); KV slimfaas_leader, the leadership lease (`leadership()`, nats-leadership.ts).
 *
 * Why the ledger, not ack_wait / nak(delay) / deliveryCount: the port takes time from the caller (`nowMs`) and
 * never reads a clock, while the server's timers run on its own clock. So a delivered message stays un-acked
 * while its element is leased or waiting for a retry, and the ledger decides, in the caller's time, when it may
 * be leased again; the server's `ack_wait` only rescues deliveries whose store died before writing the ledger.
 *
 * NATS 2.9 workarounds: plain `+TERM` only (a reason is ignored → redelivery); `max_deliver: -1` (exhausted
 * messages would stay in the work-queue stream forever); no per-key TTL (silently dropped) → expiry in the value;
 * no fsync control → "durable" means accepted into the server's file store (see docs/nats.md).
 */
import { randomUUID } from 'node:crypto';
import { headers, type Subscription } from '@nats-io/transport-node';
import { SlimFaasError } from '../../core/errors.js';
import { notifyAll } from '../../core/listeners.js';
import {
  StoreUnavailableError,
  type ActivityEvent,
  type AttemptEnd,
  type DeadLetter,
  type LeaseOperationResult,
  type LeaseOptions,
  type LeaseResult,
  type QueueCounts,
  type QueueElement,
  type StateStore,
} from '../../core/state-store.js';
import { watchActivity, type ActivityWatch } from './nats-activity.js';
import * as records from './nats-kv-records.js';
import { NatsLeadership, type NatsLeadershipOptions } from './nats-leadership.js';
import {
  DEFAULT_TIMEOUT_MS,
  connectResources,
  replicatedCasWarning,
  toStoreError,
  withDeadline,
  type NatsStateStoreOptions,
  type Resources,
} from './nats-connection.js';

export type { NatsStateStoreOptions } from './nats-connection.js';
import { HEADER_ORIGIN, notifySubject } from './nats-resources.js';
import {
  checkElement,
  checkLeaseKey,
  checkPositiveInteger,
  checkQueue,
  checkText,
  checkTime,
} from './nats-validation.js';
import { scheduleRetry } from './queue-ledger.js';

const NOTIFY_ALL = notifySubject('>');

export class NatsStateStore implements StateStore {
  readonly #r: Resources;
  readonly #timeoutMs: number;
  readonly #origin = randomUUID();
  readonly #listeners = new Set<(queue: string) => void>();
  readonly #activityListeners = new Set<(event: ActivityEvent) => void>();
  #activityWatch: ActivityWatch | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #notifications: Subscription;
  /** Queues whose cross-replica announcement is scheduled (one publish per queue per event-loop turn). */
  readonly #announcing = new Set<string>();
  #closing: Promise<void> | undefined;
  #warning: string | undefined;

  private constructor(resources: Resources, timeoutMs: number) {
    this.#r = resources;
    this.#timeoutMs = timeoutMs;
    // Other replicas' enqueues (best effort: core NATS, no delivery guarantee; dispatchers also poll).
    this.#notifications = resources.nc.subscribe(NOTIFY_ALL, {
      callback: (error, msg) => {
        if (error === null && msg.headers?.get(HEADER_ORIGIN) !== this.#origin) {
          this.#notify(msg.subject.slice(NOTIFY_ALL.length - 1));
        }
      },
    });
  }

  static async open(options: NatsStateStoreOptions): Promise<NatsStateStore> {
    const resources = await connectResources(options);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const store = new NatsStateStore(resources, timeoutMs);
    store.#warning = replicatedCasWarning(resources.nc.info?.version, options.replicas ?? 1);
    try {
      store.#activityWatch = await withDeadline(
        watchActivity(resources.activityKv, {
          origin: store.#origin,
          onPeerActivity: (event) => notifyAll(store.#activityListeners, event),
        }),
        timeoutMs,
      );
      return store;
    } catch (error) {
      await resources.nc.close().catch(() => undefined);
      throw toStoreError(error, 'cannot open the NATS store');
    }
  }

  /** A known server defect that makes this configuration unsafe, for the composition root to log once. */
  get warning(): string | undefined {
    return this.#warning;
  }

  enqueue(queue: string, element: QueueElement): Promise<'enqueued' | 'duplicate'> {
    return this.#run(async () => {
      checkQueue(queue);
      checkElement(element);
      const result = await this.#r.queues.enqueue(queue, element);
      if (result === 'enqueued') this.#announce(queue);
      return result;
    });
  }

  lease(queue: string, options: LeaseOptions): Promise<LeaseResult> {
    return this.#run(() => {
      checkQueue(queue);
      checkPositiveInteger('max', options.max);
      checkText('owner', options.owner);
      checkTime('nowMs', options.nowMs);
      checkTime('leaseMs', options.leaseMs);
      return this.#r.queues.lease(queue, options);
    });
  }

  complete(queue: string, id: string, leaseToken: string): Promise<LeaseOperationResult> {
    return this.#run(() => {
      checkLeaseKey(queue, id, leaseToken);
      return this.#r.queues.complete(queue, id, leaseToken);
    });
  }

  retryLater(
    queue: string,
    id: string,
    leaseToken: string,
    options: AttemptEnd & { readonly notBeforeMs: number },
  ): Promise<LeaseOperationResult> {
    return this.#run(async () => {
      checkLeaseKey(queue, id, leaseToken);
      checkTime('notBeforeMs', options.notBeforeMs);
      checkTime('endedAtMs', options.endedAtMs);
      const { notBeforeMs, ...end } = options;
      const outcome = await this.#r.queues.withLease(queue, { id, leaseToken }, (_, entry) =>
        scheduleRetry(entry, end, notBeforeMs),
      );
      return outcome.kind === 'ok' ? { kind: 'ok' } : outcome;
    });
  }

  deadLetter(queue: string, id: string, leaseToken: string, end: AttemptEnd): Promise<LeaseOperationResult> {
    return this.#run(() => {
      checkLeaseKey(queue, id, leaseToken);
      checkTime('endedAtMs', end.endedAtMs);
      return this.#r.queues.deadLetter(queue, id, leaseToken, end);
    });
  }

  extendLease(
    queue: string,
    id: string,
    leaseToken: string,
    options: { readonly leaseMs: number; readonly nowMs: number },
  ): Promise<LeaseOperationResult> {
    return this.#run(async () => {
      checkLeaseKey(queue, id, leaseToken);
      checkTime('leaseMs', options.leaseMs);
      checkTime('nowMs', options.nowMs);
      const outcome = await this.#r.queues.withLease(queue, { id, leaseToken }, (_, entry) => {
        entry.leaseExpiresAtMs = options.nowMs + options.leaseMs;
      });
      if (outcome.kind !== 'ok') return outcome;
      this.#r.queues.touch(outcome.entry.ackSubject);
      return { kind: 'ok' };
    });
  }

  counts(queue: string): Promise<QueueCounts> {
    return this.#run(() => {
      checkQueue(queue);
      return this.#r.queues.counts(queue);
    });
  }

  queues(): Promise<readonly string[]> {
    return this.#run(() => this.#r.queues.queues());
  }

  deadLetters(queue: string, options?: { readonly limit?: number }): Promise<readonly DeadLetter[]> {
    return this.#run(async () => {
      checkQueue(queue);
      const limit = options?.limit ?? 100;
      checkPositiveInteger('limit', limit);
      const found = await this.#r.queues.deadLetters(queue);
      return found.slice(0, limit).map((d) => d.deadLetter);
    });
  }

  requeueDeadLetter(queue: string, id: string): Promise<{ readonly kind: 'requeued' | 'not-found' }> {
    return this.#run(async () => {
      checkQueue(queue);
      checkText('id', id);
      const result = await this.#r.queues.requeueDeadLetter(queue, id);
      if (result.kind === 'requeued') this.#announce(queue);
      return result;
    });
  }

  deleteDeadLetter(queue: string, id: string): Promise<{ readonly kind: 'deleted' | 'not-found' }> {
    return this.#run(() => {
      checkQueue(queue);
      checkText('id', id);
      return this.#r.queues.deleteDeadLetter(queue, id);
    });
  }

  onEnqueued(listener: (queue: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  recordActivity(name: string, atMs: number): Promise<void> {
    return this.#run(async () => {
      checkText('name', name);
      checkTime('atMs', atMs);
      const stored = await records.recordActivity(this.#r.activityKv, { name, atMs, origin: this.#origin });
      notifyAll(this.#activityListeners, { name, atMs: stored, origin: 'local' });
    });
  }

  onActivity(listener: (event: ActivityEvent) => void): () => void {
    this.#activityListeners.add(listener);
    return () => this.#activityListeners.delete(listener);
  }

  /**
   * The leadership lease of the replicas sharing this NATS store, on this store's connection (a node cut off
   * from NATS loses both at once). Close it before the store: `close()` releases the lease.
   */
  leadership(options: Omit<NatsLeadershipOptions, 'kv'>): NatsLeadership {
    return new NatsLeadership({ ...options, kv: this.#r.leaderKv });
  }

  activity(): Promise<ReadonlyMap<string, number>> {
    return this.#run(() => records.readActivity(this.#r.activityKv));
  }

  getValue(key: string, nowMs: number): Promise<Uint8Array | undefined> {
    return this.#run(() => {
      checkText('key', key);
      checkTime('nowMs', nowMs);
      return records.getValue(this.#r.valuesKv, key, nowMs);
    });
  }

  setValue(key: string, value: Uint8Array, options?: { readonly expiresAtMs?: number }): Promise<void> {
    return this.#run(() => {
      checkText('key', key);
      if (!(value instanceof Uint8Array))
        throw new SlimFaasError('bad_request', 'value must be a Uint8Array');
      if (options?.expiresAtMs !== undefined) checkTime('expiresAtMs', options.expiresAtMs);
      return records.setValue(this.#r.valuesKv, key, value, options?.expiresAtMs);
    });
  }

  deleteValue(key: string): Promise<void> {
    return this.#run(() => {
      checkText('key', key);
      return records.deleteValue(this.#r.valuesKv, key);
    });
  }

  deleteExpiredValues(nowMs: number): Promise<number> {
    return this.#run(() => {
      checkTime('nowMs', nowMs);
      return records.deleteExpiredValues(this.#r.valuesKv, nowMs);
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    // Operations already submitted finish (or time out) first; then drain, bounded even if the server is gone.
    await Promise.allSettled([...this.#inFlight]);
    this.#notifications.unsubscribe();
    this.#activityWatch?.stop();
    const { nc } = this.#r;
    await withDeadline(nc.drain(), this.#timeoutMs).catch(() => nc.close().catch(() => undefined));
  }

  #run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) {
      return Promise.reject(new StoreUnavailableError('the NATS store is closed'));
    }
    const down = this.#r.link.downReason;
    if (down !== undefined) return Promise.reject(new StoreUnavailableError(`NATS store: ${down}`));
    const running = withDeadline(Promise.resolve().then(work), this.#timeoutMs).catch((error: unknown) => {
      throw toStoreError(error, 'NATS store');
    });
    const tracked = running.catch(() => undefined);
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
    return running;
  }

  /**
   * Local listeners first (after the PubAck), then other replicas through core NATS. The publish is coalesced per
   * queue until the next event-loop turn: it leaves after every enqueue it stands for was acknowledged, so no
   * announcement is lost, and a burst of enqueues costs one message instead of one each.
   */
  #announce(queue: string): void {
    this.#notify(queue);
    if (this.#announcing.has(queue)) return;
    this.#announcing.add(queue);
    setImmediate(() => {
      this.#announcing.delete(queue);
      try {
        const h = headers();
        h.set(HEADER_ORIGIN, this.#origin);
        this.#r.nc.publish(notifySubject(queue), undefined, { headers: h });
      } catch {
        // Best effort: a lost notification only delays dispatch until the dispatcher's fallback timer.
      }
    });
  }

  #notify(queue: string): void {
    notifyAll(this.#listeners, queue);
  }
}
