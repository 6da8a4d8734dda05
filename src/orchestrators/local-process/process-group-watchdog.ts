import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../core/ports.js';

/**
 * Why: replicas are spawned `detached` (each its own process group, so a stop reaches the whole tree
 * of e.g. `npm run dev`). A detached child survives its parent, so if SlimFaas dies without running
 * `close()` (SIGKILL, OOM kill, a crash in native code) every replica would be orphaned and keep its
 * port. This watchdog is a separate `bash` process that learns each group as it is started
 * (`+<pgid>`) and stopped (`-<pgid>`) on its stdin.
 *
 * Invariant: only SlimFaas holds the write end of the watchdog's stdin (Node creates pipes
 * close-on-exec, so replicas do not inherit it). Hence the watchdog reads end-of-file exactly when
 * SlimFaas has exited or closed it; it then sends SIGTERM to every group still registered, waits up
 * to the grace period, and SIGKILLs the survivors. On an orderly `close()` every group has been
 * unregistered first, so end-of-file just makes it exit.
 *
 * The watchdog is itself detached (a Ctrl+C to SlimFaas's terminal group must not kill it before
 * it does its job) and unreferenced (it never keeps SlimFaas's event loop alive).
 */
const WATCHDOG_SCRIPT = `
trap '' INT HUP
declare -A groups
while IFS= read -r line; do
  case "$line" in
    +[0-9]*) groups["\${line#+}"]=1 ;;
    -[0-9]*) unset "groups[\${line#-}]" ;;
  esac
done
[ "\${#groups[@]}" -eq 0 ] && exit 0
for g in "\${!groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
deadline=$((SECONDS + $1))
while [ "$SECONDS" -lt "$deadline" ]; do
  alive=0
  for g in "\${!groups[@]}"; do kill -0 -- "-$g" 2>/dev/null && alive=1; done
  [ "$alive" -eq 0 ] && exit 0
  sleep 0.1
done
for g in "\${!groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
`;

export class ProcessGroupWatchdog {
  readonly #child: ChildProcess | undefined;
  readonly #exited: Promise<void>;
  readonly #logger: Logger;
  #broken = false;

  private constructor(child: ChildProcess | undefined, logger: Logger) {
    this.#child = child;
    this.#logger = logger;
    this.#exited = new Promise((resolve) => {
      if (child === undefined || child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
  }

  /** Starts the watchdog process. Without `bash` it logs a warning once and does nothing. */
  static start(options: { graceMs: number; logger: Logger }): ProcessGroupWatchdog {
    const graceSeconds = String(Math.max(1, Math.ceil(options.graceMs / 1000)));
    let child: ChildProcess | undefined;
    try {
      // The script travels in the environment so `ps` shows a short `bash -c eval … slimfaas-watchdog`.
      child = spawn('bash', ['-c', 'eval "$SLIMFAAS_WATCHDOG_SCRIPT"', 'slimfaas-watchdog', graceSeconds], {
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SLIMFAAS_WATCHDOG_SCRIPT: WATCHDOG_SCRIPT },
      });
    } catch (error) {
      options.logger.warn(
        { err: error },
        'process watchdog unavailable: replicas may outlive a killed SlimFaas',
      );
    }
    const watchdog = new ProcessGroupWatchdog(child, options.logger);
    if (child !== undefined) {
      child.once('error', (error) => watchdog.#fail(error));
      child.stdin?.on('error', (error) => watchdog.#fail(error));
      child.unref();
      unrefStream(child.stdin);
    }
    return watchdog;
  }

  /** Registers a replica's process group (its leader's pid) to be killed if SlimFaas dies. */
  watch(pgid: number): void {
    this.#write(`+${pgid}\n`);
  }

  /** Unregisters a group once its leader has exited and the group has been swept. */
  forget(pgid: number): void {
    this.#write(`-${pgid}\n`);
  }

  /** Closes the watchdog's stdin (it exits, killing any group still registered) and waits for it. */
  async close(): Promise<void> {
    this.#child?.stdin?.end();
    await this.#exited;
  }

  #write(line: string): void {
    const stdin = this.#child?.stdin;
    if (this.#broken || !stdin || stdin.destroyed || stdin.writableEnded) return;
    stdin.write(line);
  }

  #fail(error: Error): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#logger.warn({ err: error }, 'process watchdog failed: replicas may outlive a killed SlimFaas');
  }
}

function unrefStream(stream: unknown): void {
  if (
    typeof stream === 'object' &&
    stream !== null &&
    'unref' in stream &&
    typeof stream.unref === 'function'
  ) {
    (stream as { unref(): void }).unref();
  }
}
