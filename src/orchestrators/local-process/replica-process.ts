import type { Logger } from '../../core/ports.js';
import { probeReplica } from './health-prober.js';
import type { LocalHealthCheck } from './local-function-definition.js';
import type { LaunchedProcess, ProcessLauncher } from './process-launcher.js';
import type { ProcessGroupWatchdog } from './process-group-watchdog.js';
import type { ReplicaOutput } from './replica-output.js';

/**
 * While a replica starts it is probed this often, so a cold start is not rounded up to `periodSeconds`.
 * Until the port accepts, a probe is a connect refused by the kernel, and the connect that finds the port
 * open carries the health request at once. Any output from the replica also starts a probe at once
 * (servers usually log when they listen), which is what usually finds it first. Not tighter: a refused
 * probe costs SlimFaas ~0.1 ms of CPU here, taken from the starting function on a small machine, and 2 ms
 * measured no faster (bench/README.md, cold-start).
 */
const STARTUP_PROBE_INTERVAL_MS = 5;
/** Once the port accepts but the health path is not 2xx yet, probes run at this pace. */
const STARTUP_HEALTH_INTERVAL_MS = 20;
/** How long the probe that finds a starting replica ready keeps its connection open (see probeReplica). */
const LINGER_AFTER_FIRST_OK_MS = 1000;
/** Consecutive failed probes after which a ready replica is reported not ready. */
const FAILURES_BEFORE_NOT_READY = 3;

export interface ReplicaExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when the exit follows `stop()`; false for a crash or a failed spawn. */
  readonly expected: boolean;
  /** Set when the command could not be spawned at all (e.g. not found). */
  readonly spawnError?: Error;
}

export interface ReplicaProcessOptions {
  readonly port: number;
  readonly command: readonly string[];
  readonly workingDirectory: string;
  readonly env: NodeJS.ProcessEnv;
  readonly health: LocalHealthCheck;
  readonly stopGraceMs: number;
  readonly output: ReplicaOutput;
  readonly watchdog: ProcessGroupWatchdog;
  readonly launcher: ProcessLauncher;
  readonly logger: Logger;
  /** The process exists (its pid is known). */
  readonly onSpawn: (pid: number) => void;
  readonly onReadyChange: (ready: boolean) => void;
  readonly onStartupTimeout: () => void;
  readonly onExit: (exit: ReplicaExit) => void;
}

/**
 * One OS process of a replica: spawned in its own process group, probed for readiness, stopped with
 * SIGTERM then SIGKILL to the whole group. Callbacks fire at most once per transition and never after
 * the exit has been reported.
 */
export class ReplicaProcess {
  readonly port: number;
  readonly #options: ReplicaProcessOptions;
  readonly #child: LaunchedProcess;
  readonly #done: Promise<void>;
  #resolveExited!: () => void;
  #ready = false;
  #everReady = false;
  #stopping = false;
  #exited = false;
  #startupTimer: NodeJS.Timeout | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  #probeWait: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  /** The port has accepted a connection at least once (startup probing slows to STARTUP_HEALTH_INTERVAL_MS). */
  #listening = false;

  constructor(options: ReplicaProcessOptions) {
    this.port = options.port;
    this.#options = options;
    const exited = new Promise<void>((resolve) => (this.#resolveExited = resolve));
    // Never rejects: callers chain on it to release the port and restart the index.
    this.#done = exited.then(() => options.output.finish()).catch(() => undefined);
    const [file = '', ...args] = options.command;
    this.#child = options.launcher.launch({
      file,
      args,
      cwd: options.workingDirectory,
      env: options.env,
    });
    options.output.attach(this.#child.stdout);
    options.output.attach(this.#child.stderr);
    const kick = (): void => {
      if (!this.#listening) this.#wakeProbe();
    };
    this.#child.stdout?.on('data', kick);
    this.#child.stderr?.on('data', kick);
    this.#child.once('exit', (code, signal) => this.#onExit({ code, signal, expected: this.#stopping }));
    this.#child.on('error', (error) => {
      if (this.#child.pid === undefined) {
        this.#onExit({ code: null, signal: null, expected: this.#stopping, spawnError: error });
      } else {
        options.logger.warn({ err: error }, 'replica process error');
      }
    });
    this.#child.once('spawn', () => this.#onSpawn());
  }

  #onSpawn(): void {
    const pid = this.#child.pid;
    if (pid === undefined || this.#exited) return;
    this.#options.watchdog.watch(pid);
    this.#options.onSpawn(pid);
    if (this.#stopping) {
      // stop() came before the pid was known (a launch through the spawn helper is asynchronous).
      this.#signalGroup('SIGTERM');
      return;
    }
    this.#startupTimer = setTimeout(
      () => this.#startupTimedOut(),
      this.#options.health.startupTimeoutSeconds * 1000,
    );
    void this.#probeLoop();
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** SIGTERM to the group, SIGKILL after the grace period. Idempotent; resolves once exited and output drained. */
  stop(): Promise<void> {
    if (!this.#stopping && !this.#exited) {
      this.#stopping = true;
      this.#haltProbing();
      this.#signalGroup('SIGTERM');
      this.#killTimer = setTimeout(() => this.#signalGroup('SIGKILL'), this.#options.stopGraceMs);
    }
    this.#stopping = true;
    return this.#done;
  }

  /** Resolves once the process has exited and its output has been drained, whatever ended it. */
  get done(): Promise<void> {
    return this.#done;
  }

  #onExit(exit: ReplicaExit): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#ready = false;
    this.#haltProbing();
    clearTimeout(this.#killTimer);
    const pid = this.#child.pid;
    if (pid !== undefined) {
      // The leader is gone; sweep whatever it left in its group so nothing is orphaned, then the
      // watchdog no longer needs to know the group.
      this.#signalGroup('SIGKILL');
      this.#options.watchdog.forget(pid);
    }
    this.#resolveExited();
    this.#options.onExit(exit);
  }

  #startupTimedOut(): void {
    if (this.#everReady || this.#stopping || this.#exited) return;
    this.#options.onStartupTimeout();
  }

  async #probeLoop(): Promise<void> {
    const { health } = this.#options;
    let failures = 0;
    while (!this.#stopping && !this.#exited) {
      const result = await probeReplica({
        port: this.port,
        path: health.path,
        timeoutMs: health.timeoutSeconds * 1000,
        lingerAfterOkMs: this.#everReady ? 0 : LINGER_AFTER_FIRST_OK_MS,
      });
      if (this.#stopping || this.#exited) return;
      if (result !== 'refused') this.#listening = true;
      if (result === 'ok') {
        failures = 0;
        if (!this.#ready) this.#setReady(true);
      } else if (this.#ready && ++failures >= FAILURES_BEFORE_NOT_READY) {
        failures = 0;
        this.#setReady(false);
      }
      await this.#pause(
        this.#everReady
          ? health.periodSeconds * 1000
          : this.#listening
            ? STARTUP_HEALTH_INTERVAL_MS
            : STARTUP_PROBE_INTERVAL_MS,
      );
    }
  }

  #setReady(ready: boolean): void {
    this.#ready = ready;
    if (ready && !this.#everReady) {
      this.#everReady = true;
      clearTimeout(this.#startupTimer);
    }
    this.#options.onReadyChange(ready);
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#probeWait = { timer: setTimeout(resolve, ms), resolve };
    });
  }

  /** Ends the current pause between probes early (a new probe runs now). */
  #wakeProbe(): void {
    if (this.#probeWait) {
      clearTimeout(this.#probeWait.timer);
      this.#probeWait.resolve();
      this.#probeWait = undefined;
    }
  }

  #haltProbing(): void {
    clearTimeout(this.#startupTimer);
    if (this.#probeWait) {
      clearTimeout(this.#probeWait.timer);
      this.#probeWait.resolve();
      this.#probeWait = undefined;
    }
  }

  #signalGroup(signal: NodeJS.Signals): void {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
        this.#options.logger.warn({ err: error, pid, signal }, 'could not signal replica process group');
      }
    }
  }
}
