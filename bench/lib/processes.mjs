// Every process a bench starts goes through a ProcessSet, which stops them all by PID: on success, on error,
// on Ctrl+C, and (synchronously, with SIGKILL) if the bench exits any other way. Processes started by
// SlimFaas (function replicas) are registered with watchPid() so the bench can check none outlived it.
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie (exited, not yet reaped) still answers kill(pid, 0): treat it as gone.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signalGroupOrPid(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export class ProcessSet {
  #running = new Map();
  #watched = new Set();

  constructor() {
    process.on('exit', () => this.killAllNow());
  }

  /**
   * Spawns `command args` in its own process group (so stopping it also reaches its children), sends its
   * stdout and stderr to `logFile`, and calls `onLine(line)` for each stdout/stderr line.
   */
  start(name, command, args, { cwd, env, logFile, onLine } = {}) {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        log?.write(`${line}\n`);
        onLine?.(line);
      });
    }
    const exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    const entry = { name, child, exited, log };
    this.#running.set(child.pid, entry);
    void exited.then(() => {
      this.#running.delete(child.pid);
      log?.end();
    });
    return { pid: child.pid, exited };
  }

  /** A process someone else started for us (a function replica): checked by leakedPids(), killed by stopAll(). */
  watchPid(pid) {
    if (Number.isInteger(pid) && pid > 0) this.#watched.add(pid);
  }

  /** SIGTERM, then SIGKILL to the whole group after `graceMs`. Resolves once the process has exited. */
  async stop(pid, { graceMs = 10_000 } = {}) {
    const entry = this.#running.get(pid);
    if (!entry) return { code: null, signal: null, alreadyExited: true };
    signalGroupOrPid(pid, 'SIGTERM');
    let timer;
    const killed = new Promise((resolve) => {
      timer = setTimeout(() => {
        signalGroupOrPid(pid, 'SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([entry.exited, killed]);
    clearTimeout(timer);
    const result = await entry.exited;
    // Whatever the process left in its group goes too.
    signalGroupOrPid(pid, 'SIGKILL');
    return result;
  }

  /** Stops every started process (in reverse start order), then kills watched PIDs still alive. */
  async stopAll({ graceMs = 10_000 } = {}) {
    const pids = [...this.#running.keys()].reverse();
    for (const pid of pids) await this.stop(pid, { graceMs });
    const survivors = this.leakedPids();
    for (const pid of survivors) signalGroupOrPid(pid, 'SIGKILL');
    return { leakedPids: survivors };
  }

  /** Watched PIDs still alive (after stopAll, a process SlimFaas failed to stop). */
  leakedPids() {
    return [...this.#watched].filter(isAlive);
  }

  killAllNow() {
    for (const pid of this.#running.keys()) signalGroupOrPid(pid, 'SIGKILL');
    for (const pid of this.#watched) if (isAlive(pid)) signalGroupOrPid(pid, 'SIGKILL');
  }
}

/** Resident set size of a process in KiB, from /proc/<pid>/status (VmRSS); undefined if it is gone. */
export function readRssKiB(pid) {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** User and system CPU time of a process in clock ticks, from /proc/<pid>/stat; undefined if it is gone. */
export function readCpuTicksSplit(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]), system: Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) of a process in clock ticks, from /proc/<pid>/stat; undefined if it is gone. */
export function readCpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** PIDs of every descendant of `pid` (from /proc/<pid>/task/<tid>/children, over all its threads). */
export function descendantPids(pid) {
  const found = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift();
    const children = [];
    try {
      for (const tid of readdirSync(`/proc/${current}/task`)) {
        children.push(...readFileSync(`/proc/${current}/task/${tid}/children`, 'utf8').trim().split(/\s+/));
      }
    } catch {
      // the process exited while we looked
    }
    for (const child of children.filter(Boolean).map(Number)) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}
