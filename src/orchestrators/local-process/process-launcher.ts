import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import type { Logger } from '../../core/ports.js';
import { SPAWN_HELPER_SCRIPT } from './spawn-helper-script.js';

/** What a replica needs of an OS process; `ChildProcess` has this shape. */
export interface LaunchedProcess {
  /** Known once 'spawn' has been emitted. */
  readonly pid?: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  once(event: 'spawn', listener: () => void): this;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}

export interface LaunchOptions {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Starts replica processes, each in its own session/process group, stdin from /dev/null, stdout and
 * stderr piped. `close()` ends the launcher once every process it started has exited.
 */
export interface ProcessLauncher {
  launch(options: LaunchOptions): LaunchedProcess;
  close(): Promise<void>;
}

/** `child_process.spawn` in SlimFaas's own process (a fork of a ~70 MiB process, blocking its event loop). */
export const directLauncher: ProcessLauncher = {
  launch(options) {
    return spawnDirect(options);
  },
  close: () => Promise.resolve(),
};

function spawnDirect(options: LaunchOptions): ChildProcess {
  return spawn(options.file, options.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** One process started through the helper: a ChildProcess look-alike fed by the helper's frames. */
class HelperProcess extends EventEmitter implements LaunchedProcess {
  pid: number | undefined;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly options: LaunchOptions;

  constructor(options: LaunchOptions) {
    super();
    this.options = options;
  }

  /** The helper went away before starting it: start it directly, forwarding its events. */
  fallBack(): void {
    const child = spawnDirect(this.options);
    child.stdout?.pipe(this.stdout);
    child.stderr?.pipe(this.stderr);
    child.on('error', (error) => {
      if (child.pid === undefined) {
        this.stdout.end();
        this.stderr.end();
      }
      this.emit('error', error);
    });
    child.once('spawn', () => {
      this.pid = child.pid;
      this.emit('spawn');
    });
    child.once('exit', (code, signal) => this.emit('exit', code, signal));
  }
}

const FRAME_HEADER_BYTES = 9;
/**
 * The system interpreter first: a `python3` found on PATH may be a version-manager shim (pyenv's is a
 * shell script taking seconds under load). `-I -S`: isolated, no site packages (~0.1 s CPU, ~10 MiB).
 */
const PYTHON_CANDIDATES = ['/usr/bin/python3', '/usr/local/bin/python3'];

function pythonCommand(): string {
  return PYTHON_CANDIDATES.find((path) => existsSync(path)) ?? 'python3';
}

/**
 * Why: `child_process.spawn` forks SlimFaas itself. Forking a ~70 MiB Node process and waiting for the
 * child's exec costs 6–15 ms on a quiet 2-vCPU machine and 20–80 ms under load, during which SlimFaas's
 * event loop is blocked (every request in flight waits). This launcher instead asks a small helper
 * process (`python3`, started once, ~10 MiB) to start each replica: SlimFaas only writes one line to a
 * pipe, and the fork happens in a process whose page tables are tiny.
 *
 * Protocol: SlimFaas writes one JSON line per launch (`{id,file,args,cwd,env}`); the helper answers with
 * frames `<kind:1><id:u32be><length:u32be><payload>`: `S` started (pid), `E` could not start (JSON
 * errno code and message), `O`/`R` stdout/stderr bytes, `o`/`r` end of stdout/stderr, `X` exit
 * (`<code>` or `- <signal>`).
 *
 * Hygiene: replicas are session leaders (process group = pid) exactly as with `spawn({detached})`, so
 * stop, the group sweep and the ProcessGroupWatchdog work unchanged. The helper ignores SIGINT/SIGHUP
 * (like the watchdog) and exits when its stdin closes, i.e. when SlimFaas exits. If it dies while
 * SlimFaas runs, the groups it started are SIGKILLed and reported exited (the normal crash path
 * restarts them), and later launches fall back to `spawn`. Without `python3` every launch falls back.
 */
export class SpawnHelperLauncher implements ProcessLauncher {
  readonly #child: ChildProcess;
  readonly #logger: Logger;
  readonly #pending = new Map<number, HelperProcess>();
  readonly #exited: Promise<void>;
  #buffer: Buffer = Buffer.alloc(0);
  #nextId = 1;
  #failed = false;

  private constructor(child: ChildProcess, logger: Logger) {
    this.#child = child;
    this.#logger = logger;
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
  }

  static start(logger: Logger): SpawnHelperLauncher | typeof directLauncher {
    let child: ChildProcess;
    try {
      // The script travels in the environment so `ps` shows a short `python3 -c … slimfaas-spawner`.
      child = spawn(
        pythonCommand(),
        ['-I', '-S', '-c', 'import os; exec(os.environ["SLIMFAAS_SPAWNER_SCRIPT"])', 'slimfaas-spawner'],
        {
          detached: true,
          stdio: ['pipe', 'pipe', 'ignore'],
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SLIMFAAS_SPAWNER_SCRIPT: SPAWN_HELPER_SCRIPT },
        },
      );
    } catch (error) {
      logger.info({ err: error }, 'spawn helper unavailable: replicas are forked from SlimFaas');
      return directLauncher;
    }
    const launcher = new SpawnHelperLauncher(child, logger);
    child.once('error', (error) => launcher.#fail(error));
    child.once('exit', (code, signal) =>
      launcher.#fail(new Error(`spawn helper exited (${code ?? signal})`)),
    );
    child.stdin?.on('error', (error) => launcher.#fail(error));
    child.stdout?.on('data', (chunk: Buffer) => launcher.#onData(chunk));
    child.unref();
    for (const stream of [child.stdin, child.stdout])
      (stream as unknown as { unref?: () => void })?.unref?.();
    return launcher;
  }

  /** The helper's pid (diagnostics and tests). */
  get helperPid(): number | undefined {
    return this.#child.pid;
  }

  launch(options: LaunchOptions): LaunchedProcess {
    const proc = new HelperProcess(options);
    if (this.#failed) {
      proc.fallBack();
      return proc;
    }
    const id = this.#nextId++;
    this.#pending.set(id, proc);
    const { file, args, cwd, env } = options;
    this.#child.stdin?.write(`${JSON.stringify({ id, args: [file, ...args], cwd, env })}\n`);
    return proc;
  }

  async close(): Promise<void> {
    this.#child.stdin?.end();
    await this.#exited;
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let offset = 0;
    while (this.#buffer.length - offset >= FRAME_HEADER_BYTES) {
      const length = this.#buffer.readUInt32BE(offset + 5);
      const end = offset + FRAME_HEADER_BYTES + length;
      if (end > this.#buffer.length) break;
      const kind = String.fromCharCode(this.#buffer[offset] ?? 0);
      const id = this.#buffer.readUInt32BE(offset + 1);
      this.#onFrame(kind, id, this.#buffer.subarray(offset + FRAME_HEADER_BYTES, end));
      offset = end;
    }
    this.#buffer = offset === this.#buffer.length ? Buffer.alloc(0) : this.#buffer.subarray(offset);
  }

  #onFrame(kind: string, id: number, payload: Buffer): void {
    const proc = this.#pending.get(id);
    if (proc === undefined) return;
    switch (kind) {
      case 'S':
        proc.pid = Number(payload.toString('latin1'));
        proc.emit('spawn');
        return;
      case 'E': {
        const { code, message } = JSON.parse(payload.toString('utf8')) as { code: string; message: string };
        this.#pending.delete(id);
        proc.stdout.end();
        proc.stderr.end();
        proc.emit('error', Object.assign(new Error(`spawn ${proc.options.file}: ${message}`), { code }));
        return;
      }
      case 'O':
        proc.stdout.write(Buffer.from(payload));
        return;
      case 'R':
        proc.stderr.write(Buffer.from(payload));
        return;
      case 'o':
        proc.stdout.end();
        return;
      case 'r':
        proc.stderr.end();
        return;
      case 'X': {
        this.#pending.delete(id);
        const [code, signal] = payload.toString('latin1').split(' ');
        proc.emit('exit', code === '-' ? null : Number(code), (signal as NodeJS.Signals | undefined) ?? null);
        return;
      }
    }
  }

  #fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    if (this.#pending.size > 0)
      this.#logger.warn({ err: error }, 'spawn helper failed: replicas are forked from SlimFaas');
    for (const [id, proc] of this.#pending) {
      this.#pending.delete(id);
      if (proc.pid === undefined) {
        proc.fallBack();
        continue;
      }
      // Its exit can no longer be observed: end the group now, report it as killed.
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      proc.stdout.end();
      proc.stderr.end();
      proc.emit('exit', null, 'SIGKILL');
    }
  }
}
