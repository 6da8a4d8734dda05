import type {
  AttemptEnd,
  DeadLetter,
  LeaseOperationResult,
  LeaseOptions,
  LeaseResult,
  QueueCounts,
  QueueElement,
} from '../../core/state-store.js';

/**
 * The `StateStore` operations as plain, structured-cloneable messages, so the same engine can run on the main
 * thread or in the database worker.
 */
export type StoreOp =
  | { readonly type: 'enqueue'; readonly queue: string; readonly element: QueueElement }
  | { readonly type: 'lease'; readonly queue: string; readonly options: LeaseOptions }
  | { readonly type: 'complete'; readonly queue: string; readonly id: string; readonly leaseToken: string }
  | {
      readonly type: 'retryLater';
      readonly queue: string;
      readonly id: string;
      readonly leaseToken: string;
      readonly end: AttemptEnd;
      readonly notBeforeMs: number;
    }
  | {
      readonly type: 'deadLetter';
      readonly queue: string;
      readonly id: string;
      readonly leaseToken: string;
      readonly end: AttemptEnd;
    }
  | {
      readonly type: 'extendLease';
      readonly queue: string;
      readonly id: string;
      readonly leaseToken: string;
      readonly leaseMs: number;
      readonly nowMs: number;
    }
  | { readonly type: 'counts'; readonly queue: string }
  | { readonly type: 'queues' }
  | { readonly type: 'deadLetters'; readonly queue: string; readonly limit: number }
  | { readonly type: 'requeueDeadLetter'; readonly queue: string; readonly id: string }
  | { readonly type: 'deleteDeadLetter'; readonly queue: string; readonly id: string }
  | { readonly type: 'recordActivity'; readonly name: string; readonly atMs: number }
  | { readonly type: 'activity' }
  | { readonly type: 'getValue'; readonly key: string; readonly nowMs: number }
  | {
      readonly type: 'setValue';
      readonly key: string;
      readonly value: Uint8Array;
      readonly expiresAtMs: number | null;
    }
  | { readonly type: 'deleteValue'; readonly key: string }
  | { readonly type: 'deleteExpiredValues'; readonly nowMs: number };

export interface OpResults {
  enqueue: 'enqueued' | 'duplicate';
  lease: LeaseResult;
  complete: LeaseOperationResult;
  retryLater: LeaseOperationResult;
  deadLetter: LeaseOperationResult;
  extendLease: LeaseOperationResult;
  counts: QueueCounts;
  queues: string[];
  deadLetters: DeadLetter[];
  requeueDeadLetter: { kind: 'requeued' | 'not-found' };
  deleteDeadLetter: { kind: 'deleted' | 'not-found' };
  recordActivity: null;
  activity: Map<string, number>;
  getValue: Uint8Array | undefined;
  setValue: null;
  deleteValue: null;
  deleteExpiredValues: number;
}

export type OpType = StoreOp['type'];

/** A failure as plain data, so it crosses the worker boundary unchanged. */
export interface OpFailure {
  readonly name: string;
  readonly message: string;
  readonly code: string | undefined;
}

/** Per-operation outcome: an operation that throws fails alone; its savepoint is rolled back. */
export type OpOutcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: OpFailure };

export function toFailure(error: unknown): OpFailure {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), code: undefined };
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, code: typeof code === 'string' ? code : undefined };
}

/** Runs a batch of operations in one transaction (one fsync) and returns one outcome per operation. */
export interface BatchRunner {
  runBatch(ops: readonly StoreOp[]): OpOutcome[];
  close(): void;
}
