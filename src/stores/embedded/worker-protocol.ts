import type { OpFailure, OpOutcome, StoreOp } from './store-ops.js';

export interface WorkerInit {
  readonly file: string;
}

export type ToWorker =
  | { readonly type: 'batch'; readonly batchId: number; readonly ops: readonly StoreOp[] }
  | { readonly type: 'close' };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'open-failed'; readonly error: OpFailure }
  | { readonly type: 'results'; readonly batchId: number; readonly outcomes: readonly OpOutcome[] }
  | { readonly type: 'batch-failed'; readonly batchId: number; readonly error: OpFailure }
  | { readonly type: 'closed' };
