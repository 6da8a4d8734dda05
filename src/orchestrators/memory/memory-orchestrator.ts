import { checkScaleRequest } from '../../core/scale-request.js';
import { SlimFaasError } from '../../core/errors.js';
import type { FunctionSpec } from '../../core/function-spec.js';
import type { Orchestrator, TopologyEvent } from '../../core/ports.js';
import type { FunctionState, PodType } from '../../core/topology.js';
import {
  buildState,
  sameState,
  type MemoryFunction,
  type MemoryReplica,
  type MemoryReplicaHandle,
} from './memory-function.js';

export type { MemoryReplicaHandle } from './memory-function.js';

export interface MemoryOrchestratorOptions {
  readonly functions: readonly { readonly spec: FunctionSpec; readonly podType?: PodType }[];
  /** Called for each replica scaled up; without it replicas get fake origins that nothing listens on. */
  readonly startReplica?: (functionName: string, index: number) => Promise<MemoryReplicaHandle>;
  /** Delay between a replica starting and it being ready. Default 0 (ready on the next tick). */
  readonly readyDelayMs?: number;
  /** When false, replicas become ready only through `setReady`. Default true. */
  readonly autoReady?: boolean;
}

export interface ScaleCall {
  readonly name: string;
  readonly replicas: number;
}

/**
 * An in-memory `Orchestrator` for tests (a shipped fake, like undici's MockAgent). It honours the
 * port's contract, and lets a test drive what a real orchestrator would observe: readiness flips,
 * crashes, unschedulable replicas, functions appearing and disappearing. Replica `i` of `f` has id
 * `f-i`; scale-down removes the highest indices first; a killed replica is replaced at once.
 */
export class MemoryOrchestrator implements Orchestrator {
  readonly #options: MemoryOrchestratorOptions;
  readonly #functions = new Map<string, MemoryFunction>();
  readonly #listeners = new Set<(event: TopologyEvent) => void>();
  readonly #stops = new Set<Promise<void>>();
  readonly #scaleCalls: ScaleCall[] = [];
  #snapshot: ReadonlyMap<string, FunctionState> = new Map();
  #started = false;
  #closing: Promise<void> | undefined;

  constructor(options: MemoryOrchestratorOptions) {
    this.#options = options;
    for (const { spec, podType } of options.functions) this.addFunction(spec, podType);
  }

  /** Every `setReplicas` call, in order (including idempotent ones and ones that rejected). */
  get scaleCalls(): readonly ScaleCall[] {
    return this.#scaleCalls;
  }

  start(): Promise<void> {
    if (!this.#started && this.#closing === undefined) {
      this.#started = true;
      for (const fn of this.#functions.values()) this.#converge(fn);
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  functions(): ReadonlyMap<string, FunctionState> {
    return this.#snapshot;
  }

  setReplicas(name: string, replicas: number): Promise<void> {
    this.#scaleCalls.push({ name, replicas });
    const checked = checkScaleRequest(this.#functions.get(name), {
      name,
      replicas,
      closed: this.#closing !== undefined,
    });
    if (!checked.ok) return Promise.reject(checked.error);
    const fn = checked.target;
    if (fn.requested !== replicas) {
      fn.requested = replicas;
      this.#publish(fn);
      this.#converge(fn);
    }
    return Promise.resolve();
  }

  subscribe(listener: (event: TopologyEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Adds (or replaces the spec of) a function, as a new Deployment would; starts at `replicasMin`. */
  addFunction(spec: FunctionSpec, podType: PodType = 'Deployment'): void {
    let fn = this.#functions.get(spec.name);
    if (fn === undefined) {
      fn = { spec, podType, requested: spec.replicasMin, replicas: new Map() };
      this.#functions.set(spec.name, fn);
    } else {
      Object.assign(fn, { spec, podType });
    }
    this.#publish(fn);
    if (this.#started) this.#converge(fn);
  }

  /** Removes a function and its replicas, announcing `function-removed`. */
  removeFunction(name: string): void {
    const fn = this.#functions.get(name);
    if (fn === undefined) return;
    this.#functions.delete(name);
    for (const index of [...fn.replicas.keys()]) void this.#remove(fn, index);
    const snapshot = new Map(this.#snapshot);
    snapshot.delete(name);
    this.#snapshot = snapshot;
    this.#emit({ kind: 'function-removed', name });
  }

  /** Flips a replica's readiness, as a readiness probe would. */
  setReady(name: string, index: number, ready: boolean): void {
    const { fn, replica } = this.#replica(name, index);
    clearTimeout(replica.readyTimer);
    if (replica.ready === ready) return;
    replica.ready = ready;
    this.#publish(fn, ready ? `${name}-${index}` : undefined);
  }

  /** Ends a replica as a crash would: it leaves the snapshot at once and is replaced if still requested. */
  async killReplica(name: string, index: number): Promise<void> {
    const { fn } = this.#replica(name, index);
    const stopped = this.#remove(fn, index);
    this.#publish(fn);
    this.#converge(fn);
    await stopped;
  }

  /** Marks a replica as impossible to place (`Unschedulable`, never ready), as a pending pod would be. */
  markUnschedulable(name: string, index: number): void {
    const { fn, replica } = this.#replica(name, index);
    clearTimeout(replica.readyTimer);
    Object.assign(replica, { unschedulable: true, ready: false, failureReason: 'Unschedulable' });
    this.#publish(fn);
  }

  async #close(): Promise<void> {
    for (const fn of this.#functions.values()) {
      for (const index of [...fn.replicas.keys()]) void this.#remove(fn, index);
      this.#publish(fn);
    }
    while (this.#stops.size > 0) await Promise.allSettled([...this.#stops]);
  }

  #replica(name: string, index: number): { fn: MemoryFunction; replica: MemoryReplica } {
    const fn = this.#functions.get(name);
    const replica = fn?.replicas.get(index);
    if (fn === undefined || replica === undefined) {
      throw new SlimFaasError('function_not_found', `no replica ${index} of function ${name}`);
    }
    return { fn, replica };
  }

  #converge(fn: MemoryFunction): void {
    if (!this.#started || this.#closing !== undefined) return;
    const surplus = [...fn.replicas.keys()].filter((index) => index >= fn.requested).sort((a, b) => b - a);
    for (const index of surplus) void this.#remove(fn, index);
    for (let index = 0; index < fn.requested; index++) {
      if (!fn.replicas.has(index)) this.#add(fn, index);
    }
    this.#publish(fn);
  }

  #add(fn: MemoryFunction, index: number): void {
    const replica: MemoryReplica = {
      index,
      handle: undefined,
      ready: false,
      unschedulable: false,
      failureReason: undefined,
      readyTimer: undefined,
    };
    fn.replicas.set(index, replica);
    const { startReplica } = this.#options;
    if (startReplica === undefined) {
      replica.handle = {
        origin: `http://${fn.spec.name}-${index}.memory.invalid:8080`,
        stop: () => Promise.resolve(),
      };
      this.#scheduleReady(fn, replica);
      return;
    }
    // Tracked like a stop, so close() also waits for starts in flight (and stops what they started).
    const starting = startReplica(fn.spec.name, index).then(
      (handle) => {
        if (
          this.#functions.get(fn.spec.name)?.replicas.get(index) !== replica ||
          this.#closing !== undefined
        ) {
          void this.#track(handle.stop());
          return;
        }
        replica.handle = handle;
        this.#publish(fn);
        this.#scheduleReady(fn, replica);
      },
      (error: unknown) => {
        replica.handle = { origin: '', stop: () => Promise.resolve() };
        replica.failureReason = `StartFailed: ${error instanceof Error ? error.message : String(error)}`;
        this.#publish(fn);
      },
    );
    void this.#track(starting);
  }

  #scheduleReady(fn: MemoryFunction, replica: MemoryReplica): void {
    if (this.#options.autoReady === false || replica.unschedulable) return;
    replica.readyTimer = setTimeout(() => {
      const current = this.#functions.get(fn.spec.name);
      if (current?.replicas.get(replica.index) !== replica || replica.ready) return;
      replica.ready = true;
      this.#publish(current, `${fn.spec.name}-${replica.index}`);
    }, this.#options.readyDelayMs ?? 0);
  }

  /** Takes a replica out of the function at once; its handle stops in the background. */
  #remove(fn: MemoryFunction, index: number): Promise<void> {
    const replica = fn.replicas.get(index);
    if (replica === undefined) return Promise.resolve();
    fn.replicas.delete(index);
    clearTimeout(replica.readyTimer);
    replica.ready = false;
    return replica.handle ? this.#track(replica.handle.stop()) : Promise.resolve();
  }

  #track(stop: Promise<void>): Promise<void> {
    const tracked = stop.catch(() => undefined).finally(() => this.#stops.delete(tracked));
    this.#stops.add(tracked);
    return tracked;
  }

  #publish(fn: MemoryFunction, readyReplicaId?: string): void {
    if (this.#functions.get(fn.spec.name) !== fn) return;
    const next = buildState(fn);
    const previous = this.#snapshot.get(fn.spec.name);
    if (readyReplicaId === undefined && previous !== undefined && sameState(previous, next)) return;
    const snapshot = new Map(this.#snapshot);
    snapshot.set(fn.spec.name, next);
    this.#snapshot = snapshot;
    this.#emit({ kind: 'function-changed', name: fn.spec.name });
    if (readyReplicaId !== undefined)
      this.#emit({ kind: 'replica-ready', name: fn.spec.name, replicaId: readyReplicaId });
  }

  #emit(event: TopologyEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is the listener's to report; the others must still hear the event.
      }
    }
  }
}
