import type { FunctionState } from './topology.js';

/** Structured logger (pino-compatible subset). Core code logs through this, never console. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled(level: 'debug' | 'info' | 'warn' | 'error'): boolean;
}

export type TopologyEvent =
  | { readonly kind: 'function-changed'; readonly name: string }
  | { readonly kind: 'function-removed'; readonly name: string }
  | { readonly kind: 'replica-ready'; readonly name: string; readonly replicaId: string };

/**
 * Where functions run: local processes, Kubernetes workloads, or an in-memory fake.
 *
 * Contract (checked by `describeOrchestratorContract`):
 * - `functions()` is a cheap synchronous snapshot; it never performs I/O.
 * - `setReplicas` is idempotent and asynchronous: it records the desired count at once (visible as
 *   `requested` in the next snapshot) and converges in the background. Unknown name → rejects with
 *   `SlimFaasError('function_not_found')`. It never blocks until replicas are ready.
 * - Every change that could matter to a waiting request (a replica becoming ready or not ready, a
 *   function appearing/disappearing, `requested` changing) is announced through `subscribe` listeners,
 *   synchronously after the snapshot reflects it.
 * - A replica that dies while `requested > 0` is reported not ready and replaced.
 * - `close()` stops every replica it started (local) or only stops watching (Kubernetes); idempotent.
 */
export interface Orchestrator {
  start(): Promise<void>;
  close(): Promise<void>;
  functions(): ReadonlyMap<string, FunctionState>;
  setReplicas(name: string, replicas: number): Promise<void>;
  subscribe(listener: (event: TopologyEvent) => void): () => void;
}

/**
 * Asks for a function to be woken: records activity now and makes the scaler decide at once (not at its
 * next tick). Never blocks, never throws for an unknown name (the caller has already looked it up).
 */
export interface Waker {
  wake(name: string): void;
}

/**
 * Where the callback route reports a function's verdict on an element it accepted with `202`
 * (callback mode). Implemented by the async dispatcher, which holds the element's lease meanwhile.
 */
export interface AsyncCallbackSink {
  /**
   * `succeeded` true completes the element; false counts as a failed attempt (retried per the policy,
   * or dead-lettered). `not-found` when the element is not waiting for a callback (unknown, already
   * finished, or its callback window expired).
   */
  callback(functionName: string, elementId: string, succeeded: boolean): Promise<'accepted' | 'not-found'>;
}
