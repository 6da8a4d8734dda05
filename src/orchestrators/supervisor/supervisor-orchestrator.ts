import { SlimFaasError } from '../../core/errors.js';
import type { Logger, Orchestrator, TopologyEvent } from '../../core/ports.js';
import { checkScaleRequest } from '../../core/scale-request.js';
import type { FunctionState } from '../../core/topology.js';
import { SUPERVISOR_TOKEN_HEADER, TOPOLOGY_SEQ_HEADER, type WatchMessage } from '../../core/topology-wire.js';
import { diffSnapshots } from './snapshot-diff.js';
import { WatchStream } from './watch-stream.js';

export interface SupervisorOrchestratorOptions {
  /** The supervisor's control API, e.g. `http://127.0.0.1:41234` (loopback). */
  readonly url: string;
  readonly token: string;
  readonly logger: Logger;
  /** `start()` fails when no snapshot arrived within this time. Default 30 000. */
  readonly startTimeoutMs?: number;
  /** Bound of one scale request. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** How long `setReplicas` waits for the watch to show the new count before showing it itself. Default 2000. */
  readonly catchUpTimeoutMs?: number;
}

/**
 * The orchestrator of a SlimFaas node in local cluster mode: the functions run under the `slimfaas up`
 * supervisor (its `LocalProcessOrchestrator`), which this adapter reaches over the loopback control
 * API (`http/supervisor-api.ts`). Like SlimFaas's `ProcessKubernetesService`.
 *
 * Beyond the `Orchestrator` contract:
 * - the snapshot comes from the supervisor's watch stream (a snapshot, then every event as it happens);
 *   a lost stream is reopened with a back-off of 100 ms doubling to 5 s, and the fresh snapshot is
 *   diffed against the last one so listeners hear about whatever changed meanwhile; until then the
 *   last snapshot stays in use (the replicas are processes of the supervisor, they still run);
 * - `setReplicas` sends the absolute count (idempotent, so several nodes scaling at once converge) and
 *   resolves once the watch stream has delivered the change, so the next snapshot shows it;
 *   an unreachable supervisor → `orchestrator_unavailable`;
 * - `close()` only stops watching: the supervisor owns the replicas.
 */
export class SupervisorOrchestrator implements Orchestrator {
  readonly #options: SupervisorOrchestratorOptions;
  readonly #logger: Logger;
  readonly #listeners = new Set<(event: TopologyEvent) => void>();
  readonly #seqWaiters = new Set<{ seq: number; resolve: () => void }>();
  #snapshot: ReadonlyMap<string, FunctionState> = new Map();
  #seq = -1;
  #stream: WatchStream | undefined;
  #closed = false;

  constructor(options: SupervisorOrchestratorOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'supervisor-orchestrator' });
  }

  /** Opens the watch stream and resolves with the first snapshot; rejects after `startTimeoutMs`. */
  async start(): Promise<void> {
    if (this.#stream !== undefined) return this.#stream.firstMessage;
    this.#stream = new WatchStream({
      url: `${this.#options.url}/v1/topology/watch`,
      headers: { [SUPERVISOR_TOKEN_HEADER]: this.#options.token },
      logger: this.#logger,
      onMessage: (message) => this.#apply(message),
    });
    const timeoutMs = this.#options.startTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new SlimFaasError(
            'orchestrator_unavailable',
            `no topology from the supervisor at ${this.#options.url} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
    });
    try {
      await Promise.race([this.#stream.firstMessage, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#stream?.close();
    for (const waiter of this.#seqWaiters) waiter.resolve();
    this.#seqWaiters.clear();
    return Promise.resolve();
  }

  functions(): ReadonlyMap<string, FunctionState> {
    return this.#snapshot;
  }

  async setReplicas(name: string, replicas: number): Promise<void> {
    const checked = checkScaleRequest(this.#snapshot.get(name), { name, replicas, closed: this.#closed });
    if (!checked.ok) throw checked.error;
    const seq = await this.#put(name, replicas);
    if (await this.#caughtUp(seq)) return;
    // The stream is late (or reconnecting): show the count now; the next message corrects it if needed.
    const current = this.#snapshot.get(name);
    if (current === undefined || current.requested === replicas) return;
    this.#replace(new Map(this.#snapshot).set(name, { ...current, requested: replicas }));
    this.#emit({ kind: 'function-changed', name });
  }

  subscribe(listener: (event: TopologyEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #put(name: string, replicas: number): Promise<number> {
    let response: Response;
    try {
      response = await fetch(`${this.#options.url}/v1/functions/${encodeURIComponent(name)}/scale`, {
        method: 'PUT',
        headers: { [SUPERVISOR_TOKEN_HEADER]: this.#options.token, 'content-type': 'application/json' },
        body: JSON.stringify({ replicas }),
        signal: AbortSignal.timeout(this.#options.requestTimeoutMs ?? 5000),
      });
    } catch (error) {
      throw new SlimFaasError('orchestrator_unavailable', `supervisor unreachable: cannot scale ${name}`, {
        cause: error,
      });
    }
    const text = await response.text();
    if (response.status === 204) return Number(response.headers.get(TOPOLOGY_SEQ_HEADER) ?? 'NaN');
    if (response.status === 404) {
      throw new SlimFaasError('function_not_found', `function ${name} not found`);
    }
    throw new SlimFaasError(
      response.status === 400 ? 'bad_request' : 'orchestrator_unavailable',
      `supervisor answered ${response.status} to scaling ${name}: ${text.slice(0, 200)}`,
    );
  }

  /** True once the watch stream has delivered message `seq` (at once if it already has). */
  #caughtUp(seq: number): Promise<boolean> {
    if (!Number.isSafeInteger(seq)) return Promise.resolve(false);
    if (this.#seq >= seq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          this.#seqWaiters.delete(waiter);
          resolve(this.#seq >= seq);
        },
      };
      const timer = setTimeout(waiter.resolve, this.#options.catchUpTimeoutMs ?? 2000);
      this.#seqWaiters.add(waiter);
    });
  }

  #apply(message: WatchMessage): void {
    if (this.#closed) return;
    this.#seq = message.seq;
    if (message.type === 'snapshot') {
      const next = new Map(message.functions.map((fn) => [fn.spec.name, fn] as const));
      const events = diffSnapshots(this.#snapshot, next);
      this.#replace(next);
      for (const event of events) this.#emit(event);
    } else {
      const next = new Map(this.#snapshot);
      if (message.function === undefined) next.delete(message.event.name);
      else next.set(message.event.name, message.function);
      this.#replace(next);
      this.#emit(message.event);
    }
    for (const waiter of this.#seqWaiters) if (this.#seq >= waiter.seq) waiter.resolve();
  }

  #replace(next: ReadonlyMap<string, FunctionState>): void {
    this.#snapshot = next;
  }

  #emit(event: TopologyEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error({ err: error, event }, 'topology listener threw');
      }
    }
  }
}
