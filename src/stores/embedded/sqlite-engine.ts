import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  LEASE_EXPIRED,
  maxAttempts,
  type AttemptEnd,
  type AttemptRecord,
  type DeadLetter,
  type LeaseOperationResult,
  type LeaseOptions,
  type LeaseResult,
  type LeasedElement,
  type QueueCounts,
  type QueueElement,
} from '../../core/state-store.js';
import type { RetryPolicy } from '../../core/function-spec.js';
import {
  DEAD,
  DELAYED,
  LEASED,
  READY,
  openDatabase,
  prepareStatements,
  type Statements,
} from './sqlite-schema.js';
import { toFailure, type BatchRunner, type OpOutcome, type OpResults, type StoreOp } from './store-ops.js';

/**
 * The store's logic on one synchronous better-sqlite3 connection. `runBatch` is the group commit: every
 * operation of a batch runs in one transaction, so a burst of enqueues costs one fsync.
 */
export class SqliteEngine implements BatchRunner {
  readonly #db: Database.Database;
  readonly #st: Statements;
  readonly #batch: (ops: readonly StoreOp[]) => OpOutcome[];
  readonly #totalChanges: Database.Statement<[], number>;

  constructor(file: string) {
    this.#db = openDatabase(file);
    this.#st = prepareStatements(this.#db);
    this.#totalChanges = this.#db.prepare<[], number>('SELECT total_changes()').pluck();
    // Each operation runs in its own savepoint (a nested better-sqlite3 transaction): one that throws is rolled
    // back and fails alone, the others still commit together.
    const one = this.#db.transaction((op: StoreOp) => this.#apply(op));
    this.#batch = this.#db.transaction((ops: readonly StoreOp[]) =>
      ops.map((op): OpOutcome => {
        try {
          return { ok: true, value: one(op) };
        } catch (error) {
          return { ok: false, error: toFailure(error) };
        }
      }),
    );
  }

  runBatch(ops: readonly StoreOp[]): OpOutcome[] {
    return this.#batch(ops);
  }

  /** Rows inserted, updated or deleted through this connection since it was opened. */
  totalChanges(): number {
    return this.#totalChanges.get() ?? 0;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  #apply(op: StoreOp): OpResults[StoreOp['type']] {
    const st = this.#st;
    switch (op.type) {
      case 'enqueue':
        return this.#enqueue(op.queue, op.element);
      case 'lease':
        return this.#lease(op.queue, op.options);
      case 'complete':
        return this.#leaseResult(
          st.complete.run({ queue: op.queue, id: op.id, leaseToken: op.leaseToken }),
          op,
        );
      case 'retryLater':
        return this.#leaseResult(
          st.retryLater.run({ ...keys(op), ...endParams(op.end), notBeforeMs: op.notBeforeMs }),
          op,
        );
      case 'deadLetter':
        return this.#leaseResult(st.deadLetter.run({ ...keys(op), ...endParams(op.end) }), op);
      case 'extendLease':
        return this.#leaseResult(st.extendLease.run({ ...keys(op), expiresAtMs: op.nowMs + op.leaseMs }), op);
      case 'counts':
        return this.#counts(op.queue);
      case 'queues':
        return st.queues.all().map((r) => r.queue);
      case 'deadLetters':
        return st.deadLetters.all({ queue: op.queue, limit: op.limit }).map(toDeadLetter);
      case 'requeueDeadLetter':
        return {
          kind: st.requeueDead.run({ queue: op.queue, id: op.id }).changes ? 'requeued' : 'not-found',
        };
      case 'deleteDeadLetter':
        return { kind: st.deleteDead.run({ queue: op.queue, id: op.id }).changes ? 'deleted' : 'not-found' };
      case 'recordActivity':
        st.recordActivity.run({ name: op.name, atMs: op.atMs });
        return null;
      case 'activity':
        return new Map(st.activity.all().map((r) => [r.name, r.last_ms]));
      case 'getValue':
        return st.getValue.get({ key: op.key, nowMs: op.nowMs })?.value;
      case 'setValue':
        st.setValue.run({ key: op.key, value: op.value, expiresAtMs: op.expiresAtMs });
        return null;
      case 'deleteValue':
        st.deleteValue.run({ key: op.key });
        return null;
      case 'deleteExpiredValues':
        return st.deleteExpired.run({ nowMs: op.nowMs }).changes;
    }
  }

  #enqueue(queue: string, element: QueueElement): OpResults['enqueue'] {
    const { changes } = this.#st.insert.run({
      queue,
      id: element.id,
      payload: element.payload,
      enqueuedAtMs: element.enqueuedAtMs,
      policy: JSON.stringify(element.policy),
      maxAttempts: maxAttempts(element.policy),
    });
    return changes === 1 ? 'enqueued' : 'duplicate';
  }

  #lease(queue: string, options: LeaseOptions): LeaseResult {
    const st = this.#st;
    const { nowMs } = options;
    // Reclaim expired leases first (owner died or stalled): the running attempt ends at the expiry.
    for (const row of st.expiredLeases.all({ queue, nowMs })) {
      const exhausted = row.attempts >= row.max_attempts;
      st.reclaim.run({
        seq: row.seq,
        state: exhausted ? DEAD : READY,
        deadAtMs: exhausted ? row.available_at_ms : null,
        ...endParams({ endedAtMs: row.available_at_ms, lastError: LEASE_EXPIRED }),
      });
    }
    st.promoteDue.run({ queue, nowMs });
    const expiresAtMs = nowMs + options.leaseMs;
    const elements = st.oldestReady.all({ queue, max: options.max }).map((row): LeasedElement => {
      const leaseToken = randomUUID();
      st.markLeased.run({ seq: row.seq, expiresAtMs, leaseToken, owner: options.owner, nowMs });
      const attempt = row.attempts + 1;
      return {
        id: row.id,
        payload: row.payload,
        enqueuedAtMs: row.enqueued_at_ms,
        policy: JSON.parse(row.policy) as RetryPolicy,
        attempt,
        lastAttempt: attempt >= row.max_attempts,
        leaseToken,
        leaseExpiresAtMs: expiresAtMs,
      };
    });
    const next = [DELAYED, LEASED]
      .map((state) => st.nextAvailable.get({ queue, state })?.at)
      .filter((at): at is number => typeof at === 'number');
    return { elements, nextAvailableAtMs: next.length > 0 ? Math.min(...next) : undefined };
  }

  #leaseResult(result: Database.RunResult, op: { queue: string; id: string }): LeaseOperationResult {
    if (result.changes > 0) return { kind: 'ok' };
    return this.#st.exists.get({ queue: op.queue, id: op.id })
      ? { kind: 'lease-lost' }
      : { kind: 'not-found' };
  }

  #counts(queue: string): QueueCounts {
    const n = [0, 0, 0, 0];
    for (const row of this.#st.counts.all({ queue })) n[row.state] = row.n;
    return {
      ready: n[READY] ?? 0,
      retryPending: n[DELAYED] ?? 0,
      inFlight: n[LEASED] ?? 0,
      dead: n[DEAD] ?? 0,
    };
  }
}

function keys(op: { queue: string; id: string; leaseToken: string }) {
  return { queue: op.queue, id: op.id, leaseToken: op.leaseToken };
}

function endParams(end: AttemptEnd) {
  return { endedAtMs: end.endedAtMs, status: end.lastStatus ?? null, error: end.lastError ?? null };
}

interface StoredAttempt {
  startedAtMs: number;
  endedAtMs?: number | null;
  status?: number | null;
  error?: string | null;
}

function toDeadLetter(row: {
  id: string;
  enqueued_at_ms: number;
  dead_at_ms: number;
  bytes: number;
  history: string;
}): DeadLetter {
  const attempts = (JSON.parse(row.history) as StoredAttempt[]).map((a): AttemptRecord => {
    const record: { -readonly [K in keyof AttemptRecord]: AttemptRecord[K] } = { startedAtMs: a.startedAtMs };
    if (a.endedAtMs != null) record.endedAtMs = a.endedAtMs;
    if (a.status != null) record.status = a.status;
    if (a.error != null) record.error = a.error;
    return record;
  });
  const last = attempts.at(-1);
  return {
    id: row.id,
    enqueuedAtMs: row.enqueued_at_ms,
    deadAtMs: row.dead_at_ms,
    payloadBytes: row.bytes,
    attempts,
    lastStatus: last?.status,
    lastError: last?.error,
  };
}
