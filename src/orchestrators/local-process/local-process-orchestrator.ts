import { checkScaleRequest } from '../../core/scale-request.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Logger, Orchestrator, TopologyEvent } from '../../core/ports.js';
import type { FunctionState } from '../../core/topology.js';
import { FunctionReplicas } from './function-replicas.js';
import type { LocalFunctionDefinition } from './local-function-definition.js';
import { PortPool } from './port-pool.js';
import { ProcessGroupWatchdog } from './process-group-watchdog.js';
import { directLauncher, SpawnHelperLauncher, type ProcessLauncher } from './process-launcher.js';

export interface LocalProcessOrchestratorOptions {
  readonly functions: readonly LocalFunctionDefinition[];
  /** The pool replica ports are taken from (`processPorts` of the manifest). */
  readonly processPorts: { readonly from: number; readonly to: number };
  /** Replica logs go to `<stateDirectory>/logs/<function>-<replica>.log`. */
  readonly stateDirectory: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Receives every prefixed output line of every replica (e.g. to print it on the terminal). */
  readonly echoOutput?: (line: string) => void;
  /** Extra environment variables for every replica (placeholders expanded). */
  readonly environment?: Readonly<Record<string, string>>;
  /** Time between SIGTERM and SIGKILL when a replica is stopped. Default 5000. */
  readonly stopGraceMs?: number;
  /**
   * Start replicas through a small pre-started `python3` helper instead of forking SlimFaas (default
   * true; falls back to forking when python3 is missing). See process-launcher.ts.
   */
  readonly spawnHelper?: boolean;
}

/**
 * Runs functions as local OS processes (SlimFaas's `Process` orchestrator, reference §6).
 *
 * Beyond the `Orchestrator` contract:
 * - each function starts with `spec.replicasMin` replicas; replica `i` of `f` has id `f-i`, origin
 *   `http://127.0.0.1:<port>` and `PodType` `Process`; scale-down stops the highest indices first;
 * - a replica that cannot start is listed, not ready, with a `failureReason` (`PortRangeExhausted`,
 *   `StartupTimeout`, `SpawnFailed`, `CrashLoopBackOff`) and an empty origin, and is retried with a
 *   back-off of 1 s doubling to 30 s;
 * - events: `function-changed` after every snapshot change, then `replica-ready` (same call stack)
 *   when a replica has just passed its readiness probe;
 * - `setReplicas` after `close()` rejects with `shutting_down`.
 */
export class LocalProcessOrchestrator implements Orchestrator {
  readonly #options: LocalProcessOrchestratorOptions;
  readonly #logger: Logger;
  readonly #functions = new Map<string, FunctionReplicas>();
  readonly #listeners = new Set<(event: TopologyEvent) => void>();
  #snapshot: ReadonlyMap<string, FunctionState>;
  #watchdog: ProcessGroupWatchdog | undefined;
  #launcher: ProcessLauncher | undefined;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: LocalProcessOrchestratorOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'local-process-orchestrator' });
    const snapshot = new Map<string, FunctionState>();
    for (const definition of options.functions) {
      const { name } = definition.spec;
      if (this.#functions.has(name)) throw new RangeError(`function ${name} is defined twice`);
      if (definition.command.length === 0) throw new RangeError(`function ${name} has an empty command`);
      const replicas = new FunctionReplicas({
        definition,
        logger: this.#logger,
        clock: options.clock ?? systemClock,
        onChange: (readyReplicaId) => this.#publish(replicas, readyReplicaId),
      });
      this.#functions.set(name, replicas);
      snapshot.set(name, replicas.state());
    }
    this.#snapshot = snapshot;
  }

  /** Starts the watchdog and each function's `replicasMin` replicas; does not wait for readiness. Idempotent. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  /** Stops every replica (SIGTERM, then SIGKILL after `stopGraceMs`) and waits for every exit. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  functions(): ReadonlyMap<string, FunctionState> {
    return this.#snapshot;
  }

  setReplicas(name: string, replicas: number): Promise<void> {
    const checked = checkScaleRequest(this.#functions.get(name), {
      name,
      replicas,
      closed: this.#closing !== undefined,
    });
    if (!checked.ok) return Promise.reject(checked.error);
    const fn = checked.target;
    fn.setRequested(replicas);
    return Promise.resolve();
  }

  subscribe(listener: (event: TopologyEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #start(): Promise<void> {
    const logDirectory = join(this.#options.stateDirectory, 'logs');
    await mkdir(logDirectory, { recursive: true });
    if (this.#closing !== undefined) return;
    const stopGraceMs = this.#options.stopGraceMs ?? 5000;
    this.#watchdog = ProcessGroupWatchdog.start({ graceMs: stopGraceMs, logger: this.#logger });
    this.#launcher =
      this.#options.spawnHelper === false ? directLauncher : SpawnHelperLauncher.start(this.#logger);
    const context = {
      ports: new PortPool(this.#options.processPorts),
      watchdog: this.#watchdog,
      launcher: this.#launcher,
      logDirectory,
      environment: this.#options.environment ?? {},
      stopGraceMs,
      echoOutput: this.#options.echoOutput,
    };
    for (const fn of this.#functions.values()) fn.start(context);
  }

  async #close(): Promise<void> {
    // A start still creating the log directory must not spawn anything once we are closing.
    await this.#starting?.catch(() => undefined);
    const results = await Promise.allSettled([...this.#functions.values()].map((fn) => fn.close()));
    for (const result of results) {
      if (result.status === 'rejected')
        this.#logger.error({ err: result.reason as unknown }, 'stopping replicas failed');
    }
    await this.#launcher?.close();
    await this.#watchdog?.close();
  }

  #publish(fn: FunctionReplicas, readyReplicaId: string | undefined): void {
    const snapshot = new Map(this.#snapshot);
    snapshot.set(fn.name, fn.state());
    this.#snapshot = snapshot;
    this.#emit({ kind: 'function-changed', name: fn.name });
    if (readyReplicaId !== undefined)
      this.#emit({ kind: 'replica-ready', name: fn.name, replicaId: readyReplicaId });
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
