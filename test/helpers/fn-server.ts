import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of the scripted function server (see fn-server.mjs for its environment and routes). */
export const FN_SERVER_PATH = fileURLToPath(new URL('./fn-server.mjs', import.meta.url));

/** The argv that runs the scripted function server with the current Node binary. */
export function fnServerCommand(...args: string[]): string[] {
  return [process.execPath, FN_SERVER_PATH, ...args];
}

/** The line fn-server prints on stdout once it listens. */
export interface ListeningLine {
  readonly event: 'listening';
  readonly port: number;
  readonly pid: number;
  readonly startToReadyMs: number;
}

/** Parses a (possibly `<function>-<replica> | `-prefixed) output line; undefined unless it is the listening line. */
export function parseListeningLine(line: string): ListeningLine | undefined {
  const json = line.slice(line.indexOf('{'));
  try {
    const value = JSON.parse(json) as Partial<ListeningLine>;
    return value.event === 'listening' ? (value as ListeningLine) : undefined;
  } catch {
    return undefined;
  }
}

/** True when `pid` no longer runs: no such process, or a zombie waiting for a parent that reaps slowly. */
export function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Fetches `/pid` from a replica started from fn-server. */
export async function replicaPid(origin: string): Promise<number> {
  const response = await fetch(`${origin}/pid`, { signal: AbortSignal.timeout(2000) });
  const body = (await response.json()) as { pid: number };
  return body.pid;
}
