import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../core/ports.js';
import type { ProcessGroupWatchdog } from '../orchestrators/local-process/process-group-watchdog.js';
import { ReplicaOutput } from '../orchestrators/local-process/replica-output.js';

const FIRST_RESTART_DELAY_MS = 1000;
const MAX_RESTART_DELAY_MS = 30_000;
/** A run that lasted this long resets the back-off (it was not a crash loop). */
const HEALTHY_RUN_MS = 30_000;

export interface SupervisedProcessOptions {
  /** Log prefix and file name: `<stateDirectory>/logs/<name>.log`. */
  readonly name: string;
  readonly command: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
  readonly watchdog: ProcessGroupWatchdog;
  readonly logger: Logger;
  readonly stopGraceMs: number;
  readonly echoOutput?: ((line: string) => void) | undefined;
  /** Called with every output line (e.g. to notice a readiness line). */
  readonly onLine?: (line: string) => void;
}

/**
 * A cluster member the supervisor keeps running (a SlimFaas node, a nats-server): spawned detached in
 * its own process group and registered with the watchdog (so it dies with a killed supervisor), its
 * output prefixed into a log file, restarted after an unexpected exit with a back-off of 1 s doubling
 * to 30 s. `stop()` sends SIGTERM to the group, SIGKILL after the grace period.
 */
export class SupervisedProcess {
  readonly #options: SupervisedProcessOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stopping = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #delayMs = FIRST_RESTART_DELAY_MS;
  #restarts = 0;

  constructor(options: SupervisedProcessOptions) {
    this.#options = options;
    this.#spawn();
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** How many times the process was restarted after an unexpected exit. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Stops the process (and no restart follows); resolves once it has exited. Idempotent. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      signalGroup(child.pid, 'SIGTERM');
      const kill = setTimeout(() => signalGroup(child.pid ?? 0, 'SIGKILL'), this.#options.stopGraceMs);
      await this.#exited;
      clearTimeout(kill);
    }
    await this.#exited;
  }

  #spawn(): void {
    const { options } = { options: this.#options };
    const output = new ReplicaOutput({
      prefix: options.name,
      logFile: options.logFile,
      echo: options.echoOutput,
    });
    const [file = '', ...args] = options.command;
    const startedAt = Date.now();
    const child = spawn(file, args, { env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    output.attach(child.stdout);
    output.attach(child.stderr);
    if (options.onLine !== undefined) {
      const onLine = options.onLine;
      child.stdout.setEncoding('utf8').on('data', (text: string) => text.split('\n').forEach(onLine));
    }
    if (child.pid !== undefined) options.watchdog.watch(child.pid);
    this.#exited = new Promise<void>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (child.pid !== undefined) {
          signalGroup(child.pid, 'SIGKILL');
          options.watchdog.forget(child.pid);
        }
        void output.finish();
        resolve();
        this.#onExit({ code, signal, ranMs: Date.now() - startedAt });
      };
      child.once('exit', done);
      child.once('error', (error) => {
        options.logger.error({ err: error, process: options.name }, 'cannot start cluster process');
        if (child.pid === undefined) done(null, null);
      });
    });
  }

  #onExit(exit: { code: number | null; signal: NodeJS.Signals | null; ranMs: number }): void {
    if (this.#stopping) return;
    if (exit.ranMs >= HEALTHY_RUN_MS) this.#delayMs = FIRST_RESTART_DELAY_MS;
    this.#options.logger.warn(
      { process: this.#options.name, code: exit.code, signal: exit.signal, restartInMs: this.#delayMs },
      'cluster process exited; restarting',
    );
    this.#restartTimer = setTimeout(() => {
      this.#restarts += 1;
      if (!this.#stopping) this.#spawn();
    }, this.#delayMs);
    this.#delayMs = Math.min(this.#delayMs * 2, MAX_RESTART_DELAY_MS);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
