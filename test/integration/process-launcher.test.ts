import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SpawnHelperLauncher,
  type LaunchedProcess,
  type ProcessLauncher,
} from '../../src/orchestrators/local-process/process-launcher.js';
import { recordingLogger } from '../contracts/orchestrator-contract.js';
import { processIsGone } from '../helpers/fn-server.js';
import { waitUntil } from '../helpers/wait-until.js';

const launchers: ProcessLauncher[] = [];
afterEach(async () => {
  await Promise.all(launchers.splice(0).map((l) => l.close()));
});

function startHelper(): SpawnHelperLauncher {
  const launcher = SpawnHelperLauncher.start(recordingLogger());
  if (!(launcher instanceof SpawnHelperLauncher)) throw new Error('python3 is required for this test');
  launchers.push(launcher);
  return launcher;
}

interface Outcome {
  readonly pid: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly error: (Error & { code?: string }) | undefined;
}

/** Collects everything a launched process reports until it exits (or fails to start). */
function collect(proc: LaunchedProcess): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  let pid: number | undefined;
  proc.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.once('spawn', () => (pid = proc.pid));
  return new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      // Output frames are relayed before the exit frame, but let the streams flush.
      setImmediate(() => resolve({ pid, stdout, stderr, exit: { code, signal }, error: undefined }));
    });
    proc.on('error', (error) => resolve({ pid, stdout, stderr, exit: undefined, error }));
  });
}

/** [process group, session] of a pid from /proc. */
function groupAndSession(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[2]), Number(fields[3])];
}

describe('SpawnHelperLauncher (a python3 helper forks the replicas)', () => {
  it('starts the command in its own session with cwd and env, relays stdout/stderr and the exit code', async () => {
    const launcher = startHelper();
    const proc = launcher.launch({
      file: 'sh',
      args: ['-c', 'echo "out $FOO $(pwd)"; echo err >&2; cat; exit 3'],
      cwd: '/tmp',
      env: { PATH: process.env.PATH, FOO: 'bar' },
    });
    let group: [number, number] | undefined;
    proc.once('spawn', () => (group = groupAndSession(proc.pid as number)));
    const outcome = await collect(proc);
    expect(outcome.error).toBeUndefined();
    expect(outcome.exit).toEqual({ code: 3, signal: null });
    expect(outcome.stdout).toBe('out bar /tmp\n');
    expect(outcome.stderr).toBe('err\n');
    expect(group).toEqual([outcome.pid, outcome.pid]);
    // The child is not SlimFaas's own child: it was forked by the helper.
    expect(launcher.helperPid).toBeDefined();
  });

  it('reports a signal exit by name', async () => {
    const launcher = startHelper();
    const proc = launcher.launch({
      file: 'sleep',
      args: ['30'],
      cwd: '/tmp',
      env: { PATH: process.env.PATH },
    });
    proc.once('spawn', () => process.kill(-(proc.pid as number), 'SIGTERM'));
    expect((await collect(proc)).exit).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('reports a command that does not exist as an error with its errno code and no pid', async () => {
    const launcher = startHelper();
    const missing = await collect(
      launcher.launch({ file: 'no-such-command-xyz', args: [], cwd: '/tmp', env: { PATH: '/usr/bin:/bin' } }),
    );
    expect(missing.pid).toBeUndefined();
    expect(missing.error?.code).toBe('ENOENT');
    const badCwd = await collect(
      launcher.launch({ file: 'true', args: [], cwd: '/no/such/dir', env: { PATH: '/usr/bin:/bin' } }),
    );
    expect(badCwd.error?.code).toBe('ENOENT');
  });

  it('when the helper dies, kills the groups it started, reports them exited, and launches directly', async () => {
    const launcher = startHelper();
    const running = launcher.launch({
      file: 'sleep',
      args: ['30'],
      cwd: '/tmp',
      env: { PATH: process.env.PATH },
    });
    const outcome = collect(running);
    await new Promise<void>((resolve) => running.once('spawn', resolve));
    const pid = running.pid as number;
    process.kill(launcher.helperPid as number, 'SIGKILL');
    expect((await outcome).exit).toEqual({ code: null, signal: 'SIGKILL' });
    await waitUntil(() => processIsGone(pid), { timeoutMs: 5000 });
    const after = await collect(
      launcher.launch({
        file: 'sh',
        args: ['-c', 'echo direct'],
        cwd: '/tmp',
        env: { PATH: process.env.PATH },
      }),
    );
    expect(after).toMatchObject({ stdout: 'direct\n', exit: { code: 0, signal: null } });
  });

  it('exits when its stdin closes (SlimFaas gone)', async () => {
    const launcher = startHelper();
    const helperPid = launcher.helperPid as number;
    expect(processIsGone(helperPid)).toBe(false);
    await launcher.close();
    await waitUntil(() => processIsGone(helperPid), { timeoutMs: 5000 });
  });
});
