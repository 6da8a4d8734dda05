import { SlimFaasError } from './errors.js';
import type { RetryPolicy } from './function-spec.js';

/**
 * An async request waiting to be sent to a function (reference §4.3). `payload` is the serialized request,
 * opaque to the store. `policy` is copied from the function when the request arrives, so a later annotation
 * change does not alter requests already accepted.
 */
export interface QueueElement {
  /** Unique within its queue; the idempotency key of `enqueue`. */
  readonly id: string;
  readonly payload: Uint8Array;
  readonly enqueuedAtMs: number;
  readonly policy: RetryPolicy;
  /**
   * The caller generated `id` for this element (a random UUID) and never enqueues it again: a store may skip the
   * idempotence check (the NATS store then saves two round trips). A later `enqueue` of the same id may then be
   * accepted as a second element.
   */
  readonly newId?: boolean;
}

/** The maximum number of attempts a policy allows: the first one plus one per retry delay. */
export function maxAttempts(policy: RetryPolicy): number {
  return 1 + policy.timeoutRetriesSeconds.length;
}

/** How one attempt ended: an HTTP status from the function, or a transport failure / lease expiry. */
export type AttemptEnd =
  | { readonly endedAtMs: number; readonly lastStatus: number; readonly lastError?: undefined }
  | { readonly endedAtMs: number; readonly lastError: string; readonly lastStatus?: undefined };

/** `lastError` recorded by the store when a lease ran out before any outcome was reported. */
export const LEASE_EXPIRED = 'lease-expired';

export interface AttemptRecord {
  readonly startedAtMs: number;
  /** Absent while the attempt is running. */
  readonly endedAtMs?: number;
  readonly status?: number;
  readonly error?: string;
}

/** An element handed to one dispatcher until `leaseExpiresAtMs`. */
export interface LeasedElement extends QueueElement {
  /** 1 on the first dispatch; a redelivery after an expired lease counts as a new attempt. */
  readonly attempt: number;
  /** True when `attempt === maxAttempts(policy)`: no retry will follow whatever the outcome. */
  readonly lastAttempt: boolean;
  /** Proves ownership to `complete`, `retryLater`, `deadLetter` and `extendLease`. */
  readonly leaseToken: string;
  readonly leaseExpiresAtMs: number;
}

export interface LeaseOptions {
  /** At most this many elements (≥ 1). */
  readonly max: number;
  /** Who holds the leases (process / dispatcher id), for diagnostics. */
  readonly owner: string;
  readonly leaseMs: number;
  readonly nowMs: number;
}

export interface LeaseResult {
  readonly elements: readonly LeasedElement[];
  /**
   * Earliest time at which an element of this queue that is not leasable now (waiting for a retry, or leased)
   * may become leasable; `undefined` when there is none or the store cannot tell. A dispatcher sets a timer
   * for it instead of polling. Ready elements left behind because `max` was reached are not reflected here.
   */
  readonly nextAvailableAtMs: number | undefined;
}

/** Result of an operation that needs a lease. `lease-lost`: the element exists but is no longer leased with this token. */
export type LeaseOperationResult =
  { readonly kind: 'ok' } | { readonly kind: 'lease-lost' } | { readonly kind: 'not-found' };

export interface QueueCounts {
  /** Leasable now, or as soon as a dispatcher looks (a due retry counts as retryPending until leased again). */
  readonly ready: number;
  /** Leased, including leases that expired but have not been reclaimed by a `lease` call yet. */
  readonly inFlight: number;
  readonly retryPending: number;
  readonly dead: number;
}

/** See `StateStore.onActivity`. */
export interface ActivityEvent {
  readonly name: string;
  readonly atMs: number;
  readonly origin: 'local' | 'peer';
}

export interface DeadLetter {
  readonly id: string;
  readonly enqueuedAtMs: number;
  readonly deadAtMs: number;
  readonly payloadBytes: number;
  readonly attempts: readonly AttemptRecord[];
  readonly lastStatus: number | undefined;
  readonly lastError: string | undefined;
}

/**
 * Durable state shared by the SlimFaas processes: async queues, last-activity timestamps and small key/values.
 * Implementations: `EmbeddedStateStore` (SQLite, one node) and later a NATS JetStream store (several replicas).
 * Checked by `describeStateStoreContract`.
 *
 * General guarantees:
 * - Every mutation resolves only after it is durable (on disk, or acknowledged by the cluster): a 202 may be
 *   sent as soon as `enqueue` resolves.
 * - Times are never read from a clock inside the store: every time-dependent operation takes `nowMs` (or an
 *   absolute time), so callers inject time.
 * - Expected outcomes are returned (`'duplicate'`, `lease-lost`, `not-found`); only an unusable store throws,
 *   as `SlimFaasError('store_unavailable')` (including after `close`). An invalid argument → `bad_request`.
 *
 * Division of work with the dispatcher: the store keeps order, leases, attempt counts and history; the
 * dispatcher decides what an outcome means (retryable status, delay from `policy.timeoutRetriesSeconds`
 * indexed by `attempt`, dead letter on the last attempt) and reports it with `complete` / `retryLater` /
 * `deadLetter`. The one policy rule the store applies itself is `maxAttempts`, for redeliveries: it never hands
 * an element out more than `maxAttempts(policy)` times.
 */
export interface StateStore {
  /**
   * Appends `element` to `queue` (FIFO per queue). Idempotent by id: while an element with this id is in the
   * queue (ready, in flight, waiting for retry or dead) a new enqueue changes nothing and returns
   * `'duplicate'`. Once the element was completed or its dead letter deleted, the id is forgotten (the embedded
   * store accepts it again; a clustered store may still report `'duplicate'` within its deduplication window).
   */
  enqueue(queue: string, element: QueueElement): Promise<'enqueued' | 'duplicate'>;

  /**
   * Leases up to `max` leasable elements of `queue`, oldest first (by enqueue position; a retried element keeps
   * its position). Leasable: ready, waiting for a retry whose `notBeforeMs ≤ nowMs`, or leased with an expired
   * lease (its owner died or stalled). An expired lease is reclaimed first: its attempt is recorded as ended at
   * the expiry with `lastError: LEASE_EXPIRED`; if it was the last attempt the element becomes a dead letter,
   * otherwise it is redelivered with `attempt + 1`. Each leased element's attempt starts at `nowMs` and its
   * lease runs until `nowMs + leaseMs`.
   */
  lease(queue: string, options: LeaseOptions): Promise<LeaseResult>;

  /** Removes a finished element (success or a final, non-retryable outcome the caller does not keep). */
  complete(queue: string, id: string, leaseToken: string): Promise<LeaseOperationResult>;

  /**
   * Ends the attempt with `end` and puts the element back at its original FIFO position, not leasable before
   * `notBeforeMs`. The caller computes `notBeforeMs` from the policy; the attempt count is kept.
   */
  retryLater(
    queue: string,
    id: string,
    leaseToken: string,
    options: AttemptEnd & { readonly notBeforeMs: number },
  ): Promise<LeaseOperationResult>;

  /** Ends the attempt with `end` and keeps the element as a dead letter (never leased again unless requeued). */
  deadLetter(queue: string, id: string, leaseToken: string, end: AttemptEnd): Promise<LeaseOperationResult>;

  /**
   * Moves the lease expiry to `nowMs + leaseMs` (callback mode: the function answered 202 and the element stays
   * in flight until the callback or the timeout). A lease that expired but was not reclaimed yet can still be
   * extended.
   */
  extendLease(
    queue: string,
    id: string,
    leaseToken: string,
    options: { readonly leaseMs: number; readonly nowMs: number },
  ): Promise<LeaseOperationResult>;

  /** Current counts; an unknown queue has all counts 0. */
  counts(queue: string): Promise<QueueCounts>;

  /** Names of the queues holding at least one element that is not dead, sorted. */
  queues(): Promise<readonly string[]>;

  /** Dead letters of `queue`, oldest enqueue first, at most `limit` (default 100). */
  deadLetters(queue: string, options?: { readonly limit?: number }): Promise<readonly DeadLetter[]>;

  /** Puts a dead letter back at the end of its queue with a fresh attempt count (a new run of the policy). */
  requeueDeadLetter(queue: string, id: string): Promise<{ readonly kind: 'requeued' | 'not-found' }>;

  deleteDeadLetter(queue: string, id: string): Promise<{ readonly kind: 'deleted' | 'not-found' }>;

  /**
   * Local notification, after commit, that `queue` received an element from this process (`enqueue` or
   * `requeueDeadLetter`). A clustered store also reports enqueues made by other nodes when it can; dispatchers
   * still lease on `LeaseResult.nextAvailableAtMs` and on a slow fallback timer. Returns an unsubscribe function.
   */
  onEnqueued(listener: (queue: string) => void): () => void;

  /**
   * Records that `name` was active at `atMs`. Max-merge: an older time never replaces a newer one. Every call
   * is announced to `onActivity` listeners (of this store, and of the other nodes' for a clustered store), even
   * when the stored time was already newer: a follower's wake must reach the leader whatever the clocks say.
   */
  recordActivity(name: string, atMs: number): Promise<void>;

  /**
   * Notification of activity recorded after subscribing: this store's own `recordActivity` calls after commit
   * (`origin: 'local'`) and, for a clustered store, the other nodes' as soon as it learns of them (`'peer'`;
   * the leader wakes functions from these). `atMs` is the stored time after the merge, or the recorded time.
   * Activity recorded before subscribing is not reported (read it with `activity()`). Returns an
   * unsubscribe function.
   */
  onActivity(listener: (event: ActivityEvent) => void): () => void;

  /** Last activity time per name. */
  activity(): Promise<ReadonlyMap<string, number>>;

  /** The value, or `undefined` when absent or expired (`expiresAtMs ≤ nowMs`). */
  getValue(key: string, nowMs: number): Promise<Uint8Array | undefined>;

  /** Creates or replaces; without `expiresAtMs` the value never expires. */
  setValue(key: string, value: Uint8Array, options?: { readonly expiresAtMs?: number }): Promise<void>;

  /** Idempotent: deleting an absent key succeeds. */
  deleteValue(key: string): Promise<void>;

  /** Deletes values expired at `nowMs` (called periodically by a cleanup worker); returns how many. */
  deleteExpiredValues(nowMs: number): Promise<number>;

  /**
   * Finishes the operations already submitted, then releases resources. Leases are not released: like a crash,
   * they expire. Idempotent; every later call rejects with `store_unavailable`.
   */
  close(): Promise<void>;
}

/**
 * What every store raises when it cannot serve (closed, disk failure, lost cluster): a `SlimFaasError` with
 * code `store_unavailable` (HTTP 503), the foreign error kept as `cause`.
 */
export class StoreUnavailableError extends SlimFaasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('store_unavailable', message, options);
    this.name = 'StoreUnavailableError';
  }
}

export function isStoreUnavailable(error: unknown): error is SlimFaasError {
  return error instanceof SlimFaasError && error.code === 'store_unavailable';
}
