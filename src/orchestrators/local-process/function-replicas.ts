import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/ports.js';
import type { FunctionState, Replica } from '../../core/topology.js';
import {
  expandPlaceholders,
  replicaEnvironment,
  type LocalFunctionDefinition,
} from './local-function-definition.js';
import type { PortPool } from './port-pool.js';
import type { ProcessLauncher } from './process-launcher.js';
import type { ProcessGroupWatchdog } from './process-group-watchdog.js';
import { ReplicaOutput } from './replica-output.js';
import { ReplicaProcess, type ReplicaExit } from './replica-process.js';

const RESTART_BACKOFF_INITIAL_MS = 1000;
const RESTART_BACKOFF_MAX_MS = 30_000;
/** A replica ready at least this long before it exits restarts its back-off from the initial delay. */
const STABLE_AFTER_READY_MS = 10_000;

export interface FunctionReplicasContext {
  readonly ports: PortPool;
  readonly watchdog: ProcessGroupWatchdog;
  readonly launcher: ProcessLauncher;
  readonly logDirectory: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly stopGraceMs: number;
  readonly echoOutput: ((line: string) => void) | undefined;
}

/** What occupies a replica index: a port being acquired, a running process, or a restart back-off. */
type Slot =
  | { readonly kind: 'acquiring' }
  | { readonly kind: 'running'; readonly process: ReplicaProcess }
  | { readonly kind: 'backoff'; readonly timer: NodeJS.Timeout };

interface IndexHistory {
  failures: number;
  readySinceMs: number | undefined;
  failureReason: string | undefined;
}

/**
 * The replicas of one local function, converging on `requested`.
 *
 * Invariants: at most one process per index is alive (a new one starts only after the previous one at
 * that index has exited, so ids and log files are never shared); indices `>= requested` are retired
 * highest first; `onChange` is called after every change to what `state()` returns.
 */
export class FunctionReplicas {
  readonly definition: LocalFunctionDefinition;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #onChange: (readyReplicaId?: string) => void;
  readonly #slots = new Map<number, Slot>();
  readonly #stopping = new Map<number, Promise<void>>();
  readonly #history = new Map<number, IndexHistory>();
  #context: FunctionReplicasContext | undefined;
  #requested: number;
  #closed = false;
  #state: FunctionState;

  constructor(options: {
    definition: LocalFunctionDefinition;
    logger: Logger;
    clock: Clock;
    onChange: (readyReplicaId?: string) => void;
  }) {
    this.definition = options.definition;
    this.#logger = options.logger.child({ function: options.definition.spec.name });
    this.#clock = options.clock;
    this.#onChange = options.onChange;
    this.#requested = options.definition.spec.replicasMin;
    this.#state = this.#buildState();
  }

  get name(): string {
    return this.definition.spec.name;
  }

  state(): FunctionState {
    return this.#state;
  }

  start(context: FunctionReplicasContext): void {
    this.#context = context;
    this.#reconcile();
  }

  setRequested(replicas: number): void {
    if (replicas === this.#requested) return;
    this.#requested = replicas;
    this.#reconcile();
    this.#changed();
  }

  /** Stops every replica and waits for all exits; no replica starts afterwards. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const index of [...this.#slots.keys()].sort((a, b) => b - a)) this.#retire(index);
    while (this.#stopping.size > 0) await Promise.all(this.#stopping.values());
  }

  #reconcile(): void {
    if (this.#closed || this.#context === undefined) return;
    const surplus = [...this.#slots.keys()].filter((index) => index >= this.#requested).sort((a, b) => b - a);
    for (const index of surplus) this.#retire(index);
    for (let index = 0; index < this.#requested; index++) {
      if (!this.#slots.has(index) && !this.#stopping.has(index)) this.#launch(index, this.#context);
    }
  }

  #launch(index: number, context: FunctionReplicasContext): void {
    const slot: Slot = { kind: 'acquiring' };
    this.#slots.set(index, slot);
    context.ports.acquire().then(
      (port) => {
        if (this.#slots.get(index) !== slot) {
          if (port !== undefined) context.ports.release(port);
          return;
        }
        if (port === undefined) {
          this.#logger.warn({ replica: index }, 'no free port in processPorts: replica not started');
          this.#backoff(index, 'PortRangeExhausted');
        } else {
          this.#spawn(index, port, context);
        }
      },
      (error: unknown) => {
        this.#logger.error({ err: error, replica: index }, 'port acquisition failed');
        if (this.#slots.get(index) === slot) this.#backoff(index, 'PortAcquisitionFailed');
      },
    );
  }

  #spawn(index: number, port: number, context: FunctionReplicasContext): void {
    const id = `${this.name}-${index}`;
    const logger = this.#logger.child({ replica: index, port });
    const output = new ReplicaOutput({
      prefix: id,
      logFile: join(context.logDirectory, `${id}.log`),
      echo: context.echoOutput,
    });
    let replica: ReplicaProcess | undefined;
    const isCurrent = (): boolean => {
      const slot = this.#slots.get(index);
      return slot?.kind === 'running' && slot.process === replica;
    };
    try {
      replica = new ReplicaProcess({
        port,
        command: this.definition.command.map((arg) => expandPlaceholders(arg, { port, replica: index })),
        workingDirectory: this.definition.workingDirectory,
        env: replicaEnvironment({
          definition: this.definition,
          extra: context.environment,
          port,
          index,
        }),
        health: this.definition.health,
        stopGraceMs: context.stopGraceMs,
        output,
        watchdog: context.watchdog,
        launcher: context.launcher,
        logger,
        onSpawn: (pid) => {
          if (isCurrent()) logger.info({ pid }, 'replica started');
        },
        onReadyChange: (ready) => {
          if (isCurrent()) this.#readyChanged(index, ready, logger);
        },
        onStartupTimeout: () => {
          if (isCurrent()) this.#startupTimedOut(index, logger);
        },
        onExit: (exit) => {
          if (isCurrent()) this.#crashed(index, exit, logger);
        },
      });
    } catch (error) {
      logger.error({ err: error }, 'replica could not be spawned');
      void output.finish();
      context.ports.release(port);
      this.#backoff(index, 'SpawnFailed');
      return;
    }
    this.#slots.set(index, { kind: 'running', process: replica });
    this.#changed();
  }

  #readyChanged(index: number, ready: boolean, logger: Logger): void {
    const history = this.#historyOf(index);
    if (ready) {
      history.readySinceMs = this.#clock.now();
      history.failureReason = undefined;
      logger.info({}, 'replica ready');
      this.#changed(`${this.name}-${index}`);
    } else {
      history.readySinceMs = undefined;
      logger.warn({}, 'replica not ready: health probes failing');
      this.#changed();
    }
  }

  #startupTimedOut(index: number, logger: Logger): void {
    logger.warn(
      { startupTimeoutSeconds: this.definition.health.startupTimeoutSeconds },
      'replica not ready in time: killed',
    );
    this.#retire(index);
    this.#backoff(index, 'StartupTimeout');
  }

  #crashed(index: number, exit: ReplicaExit, logger: Logger): void {
    logger.warn({ code: exit.code, signal: exit.signal, err: exit.spawnError }, 'replica exited');
    this.#retire(index);
    const failures = this.#historyOf(index).failures + 1;
    const reason = exit.spawnError ? 'SpawnFailed' : failures >= 2 ? 'CrashLoopBackOff' : undefined;
    if (index < this.#requested && !this.#closed) this.#backoff(index, reason);
  }

  /** Frees the index at once (the replica leaves the snapshot); its process exits in the background. */
  #retire(index: number): void {
    const slot = this.#slots.get(index);
    if (slot === undefined) return;
    this.#slots.delete(index);
    if (slot.kind === 'backoff') clearTimeout(slot.timer);
    if (slot.kind === 'running') {
      const replica = slot.process;
      const history = this.#historyOf(index);
      if (
        history.readySinceMs !== undefined &&
        this.#clock.now() - history.readySinceMs >= STABLE_AFTER_READY_MS
      ) {
        history.failures = 0;
      }
      history.readySinceMs = undefined;
      const stopped = replica.stop().then(() => {
        this.#context?.ports.release(replica.port);
        this.#stopping.delete(index);
        this.#reconcile();
      });
      this.#stopping.set(index, stopped);
    }
    if (index >= this.#requested) this.#history.delete(index);
    this.#changed();
  }

  #backoff(index: number, failureReason: string | undefined): void {
    const history = this.#historyOf(index);
    const delayMs = Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_INITIAL_MS * 2 ** history.failures);
    history.failures += 1;
    history.failureReason = failureReason;
    const timer = setTimeout(() => {
      if (this.#slots.get(index)?.kind !== 'backoff') return;
      this.#slots.delete(index);
      this.#reconcile();
    }, delayMs);
    this.#slots.set(index, { kind: 'backoff', timer });
    this.#changed();
  }

  #historyOf(index: number): IndexHistory {
    let history = this.#history.get(index);
    if (history === undefined) {
      history = { failures: 0, readySinceMs: undefined, failureReason: undefined };
      this.#history.set(index, history);
    }
    return history;
  }

  #changed(readyReplicaId?: string): void {
    const next = this.#buildState();
    if (readyReplicaId === undefined && sameState(this.#state, next)) return;
    this.#state = next;
    this.#onChange(readyReplicaId);
  }

  #buildState(): FunctionState {
    const replicas: Replica[] = [];
    for (const index of [...this.#slots.keys()].sort((a, b) => a - b)) {
      const slot = this.#slots.get(index);
      const failureReason = this.#history.get(index)?.failureReason;
      const id = `${this.name}-${index}`;
      if (slot?.kind === 'running') {
        const origin = `http://127.0.0.1:${slot.process.port}`;
        replicas.push(
          Object.freeze({ id, origin, ip: '127.0.0.1', ready: slot.process.ready, failureReason }),
        );
      } else if (failureReason !== undefined) {
        // A replica that could not start is listed so its reason is visible; it has no origin yet.
        replicas.push(Object.freeze({ id, origin: '', ip: '127.0.0.1', ready: false, failureReason }));
      }
    }
    return Object.freeze({
      spec: this.definition.spec,
      podType: 'Process',
      requested: this.#requested,
      replicas: Object.freeze(replicas),
    });
  }
}

function sameState(a: FunctionState, b: FunctionState): boolean {
  if (a.requested !== b.requested || a.replicas.length !== b.replicas.length) return false;
  return a.replicas.every((r, i) => {
    const o = b.replicas[i];
    return (
      o !== undefined &&
      r.id === o.id &&
      r.origin === o.origin &&
      r.ready === o.ready &&
      r.failureReason === o.failureReason
    );
  });
}
