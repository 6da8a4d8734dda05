import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { TopologyEvent } from '../../src/core/ports.js';
import { readyReplicas, type FunctionState } from '../../src/core/topology.js';
import {
  LocalProcessOrchestrator,
  type LocalFunctionDefinition,
  type LocalHealthCheck,
} from '../../src/orchestrators/local-process/index.js';
import { recordingLogger, testFunctionSpec } from '../contracts/orchestrator-contract.js';
import {
  FN_SERVER_PATH,
  fnServerCommand,
  parseListeningLine,
  processIsGone,
  replicaPid,
} from '../helpers/fn-server.js';
import { waitUntil } from '../helpers/wait-until.js';

// Ports 41100–41199 belong to this file (test/contracts/local-process-orchestrator.test.ts uses 41000–41099).
const PORTS = { from: 41100, to: 41179 };
const SINGLE_PORT = 41180;
const WATCHDOG_PORTS = { from: 41190, to: 41199 };
const REPO_ROOT = resolve(import.meta.dirname, '../..');

const FAST_HEALTH: LocalHealthCheck = {
  path: '/health',
  periodSeconds: 1,
  timeoutSeconds: 1,
  startupTimeoutSeconds: 10,
};

interface Harness {
  readonly orchestrator: LocalProcessOrchestrator;
  readonly stateDirectory: string;
  readonly logger: ReturnType<typeof recordingLogger>;
  /** Every output line with the time it reached SlimFaas. */
  readonly lines: { readonly line: string; readonly atMs: number }[];
  readonly events: { readonly event: TopologyEvent; readonly atMs: number }[];
  state(name: string): FunctionState;
}

function fnDefinition(
  name: string,
  options: Partial<Omit<LocalFunctionDefinition, 'spec' | 'health'>> & {
    replicasMin?: number;
    health?: Partial<LocalHealthCheck>;
  } = {},
): LocalFunctionDefinition {
  return {
    spec: testFunctionSpec(name, { replicasMin: options.replicasMin ?? 1 }),
    command: options.command ?? fnServerCommand(),
    workingDirectory: options.workingDirectory ?? REPO_ROOT,
    environment: options.environment ?? {},
    health: { ...FAST_HEALTH, ...options.health },
  };
}

const started: Harness[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const harness of started.splice(0)) {
    await harness.orchestrator.close();
    await rm(harness.stateDirectory, { recursive: true, force: true });
  }
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startLocal(
  functions: LocalFunctionDefinition[],
  options: {
    processPorts?: { from: number; to: number };
    stopGraceMs?: number;
    environment?: Record<string, string>;
  } = {},
): Promise<Harness> {
  const stateDirectory = await mkdtemp(join(tmpdir(), 'slimfaas-local-it-'));
  const lines: Harness['lines'] = [];
  const events: Harness['events'] = [];
  const logger = recordingLogger();
  const orchestrator = new LocalProcessOrchestrator({
    functions,
    processPorts: options.processPorts ?? PORTS,
    stateDirectory,
    logger,
    stopGraceMs: options.stopGraceMs ?? 2000,
    environment: options.environment ?? {},
    echoOutput: (line) => lines.push({ line, atMs: performance.now() }),
  });
  orchestrator.subscribe((event) => events.push({ event, atMs: performance.now() }));
  const state = (name: string): FunctionState => {
    const fn = orchestrator.functions().get(name);
    if (fn === undefined) throw new Error(`no function ${name}`);
    return fn;
  };
  const harness: Harness = { orchestrator, stateDirectory, logger, lines, events, state };
  started.push(harness);
  await orchestrator.start();
  return harness;
}

const listeningPids = (h: Harness, prefix: string): number[] =>
  h.lines
    .filter((l) => l.line.startsWith(`${prefix} | `))
    .flatMap((l) => parseListeningLine(l.line)?.pid ?? []);

async function readyOrigins(h: Harness, name: string, count: number): Promise<string[]> {
  return waitUntil(
    () => {
      const ready = readyReplicas(h.state(name));
      return ready.length === count ? ready.map((r) => r.origin) : undefined;
    },
    { message: `${count} ready replica(s) of ${name}` },
  );
}

describe('LocalProcessOrchestrator with real processes', () => {
  it('passes PORT, SLIMFAAS_PORT, SLIMFAAS_REPLICA_INDEX and expands {port} and {replica}', async () => {
    const h = await startLocal(
      [
        fnDefinition('env', {
          replicasMin: 2,
          command: fnServerCommand('--label', 'p{port}-r{replica}'),
          environment: { TEST_LABEL: 'x{port}-{replica}' },
        }),
      ],
      { environment: { TEST_GLOBAL: 'g{replica}' } },
    );
    await readyOrigins(h, 'env', 2);
    for (const replica of h.state('env').replicas) {
      const port = new URL(replica.origin).port;
      const index = replica.id.slice('env-'.length);
      const response = await fetch(`${replica.origin}/env`);
      const body = (await response.json()) as { env: Record<string, string>; argv: string[]; cwd: string };
      expect(body.env).toMatchObject({
        PORT: port,
        SLIMFAAS_PORT: port,
        SLIMFAAS_REPLICA_INDEX: index,
        TEST_LABEL: `x${port}-${index}`,
        TEST_GLOBAL: `g${index}`,
      });
      expect(body.argv).toEqual(['--label', `p${port}-r${index}`]);
      expect(body.cwd).toBe(REPO_ROOT);
      expect(replica).toMatchObject({ ip: '127.0.0.1', origin: `http://127.0.0.1:${port}` });
    }
    expect(h.state('env').podType).toBe('Process');
  });

  it('announces a slow-starting replica ready within 150 ms of it listening', async () => {
    const h = await startLocal([
      fnDefinition('slow', { environment: { START_DELAY_MS: '600' }, health: { periodSeconds: 5 } }),
    ]);
    const readyAt = await waitUntil(
      () => h.events.find((e) => e.event.kind === 'replica-ready' && e.event.name === 'slow')?.atMs,
      { message: 'replica-ready' },
    );
    const listenedAt = h.lines.find((l) => parseListeningLine(l.line) !== undefined)?.atMs;
    expect(listenedAt).toBeDefined();
    expect(readyAt - (listenedAt ?? 0)).toBeLessThan(150);
  });

  it('uses a TCP connect as readiness when there is no health path', async () => {
    const h = await startLocal([fnDefinition('tcp', { health: { path: undefined } })]);
    const [origin] = await readyOrigins(h, 'tcp', 1);
    expect((await fetch(`${origin}/pid`)).status).toBe(200);
  });

  it('kills a replica whose health never passes after startupTimeoutSeconds and replaces it', async () => {
    const h = await startLocal([
      fnDefinition('sick', { environment: { HEALTH_STATUS: '500' }, health: { startupTimeoutSeconds: 1.5 } }),
    ]);
    await waitUntil(() => listeningPids(h, 'sick-0').length >= 1, { message: 'first process listening' });
    await waitUntil(() => h.state('sick').replicas[0]?.failureReason === 'StartupTimeout', {
      message: 'StartupTimeout reported',
    });
    const [first] = listeningPids(h, 'sick-0');
    await waitUntil(() => first !== undefined && processIsGone(first), { message: 'first process killed' });
    await waitUntil(() => listeningPids(h, 'sick-0').length >= 2, { message: 'replacement started' });
    expect(h.events.some((e) => e.event.kind === 'replica-ready')).toBe(false);
    expect(h.state('sick').replicas.every((r) => !r.ready)).toBe(true);
  });

  it('reports a replica not ready after three failed probes and keeps it listed', async () => {
    const h = await startLocal([
      fnDefinition('flaky', {
        environment: { HEALTH_FAIL_AFTER_MS: '300' },
        health: { periodSeconds: 0.05 },
      }),
    ]);
    await readyOrigins(h, 'flaky', 1);
    await waitUntil(() => h.state('flaky').replicas[0]?.ready === false, { message: 'not ready' });
    expect(h.state('flaky').replicas.map((r) => r.id)).toEqual(['flaky-0']);
    expect(h.logger.entries.some((e) => e.msg?.includes('health probes failing'))).toBe(true);
  });

  it('removes a crashed replica at once and restarts it with a back-off, not in a spin', async () => {
    const h = await startLocal([fnDefinition('crashy', { environment: { CRASH_AFTER_MS: '300' } })]);
    await readyOrigins(h, 'crashy', 1);
    await waitUntil(() => h.state('crashy').replicas.length === 0, { message: 'crashed replica removed' });
    await readyOrigins(h, 'crashy', 1);
    expect(listeningPids(h, 'crashy-0')).toHaveLength(2);
    await waitUntil(() => h.state('crashy').replicas[0]?.failureReason === 'CrashLoopBackOff', {
      message: 'CrashLoopBackOff after the second crash',
    });
    expect(listeningPids(h, 'crashy-0')).toHaveLength(2);
  });

  it('scales down from the highest index, at once in the snapshot', async () => {
    const h = await startLocal([fnDefinition('many', { replicasMin: 3 })]);
    const origins = await readyOrigins(h, 'many', 3);
    const pids = await Promise.all(origins.map((origin) => replicaPid(origin)));
    await h.orchestrator.setReplicas('many', 1);
    expect(h.state('many').replicas.map((r) => r.id)).toEqual(['many-0']);
    await waitUntil(() => processIsGone(pids[1] ?? 0) && processIsGone(pids[2] ?? 0), { message: 'stopped' });
    expect(processIsGone(pids[0] ?? 0)).toBe(false);
  });

  it('SIGKILLs a replica that ignores SIGTERM once stopGraceMs has passed', async () => {
    const h = await startLocal([fnDefinition('stubborn', { environment: { EXIT_ON_SIGTERM: 'ignore' } })], {
      stopGraceMs: 400,
    });
    const [origin] = await readyOrigins(h, 'stubborn', 1);
    const pid = await replicaPid(origin ?? '');
    const stoppedAt = performance.now();
    await h.orchestrator.setReplicas('stubborn', 0);
    await waitUntil(() => h.lines.some((l) => l.line.includes('sigterm-ignored')), {
      message: 'SIGTERM sent',
    });
    await waitUntil(() => processIsGone(pid), { message: 'SIGKILLed' });
    expect(performance.now() - stoppedAt).toBeGreaterThanOrEqual(380);
  });

  it('leaves no process behind once close() resolves', async () => {
    const h = await startLocal([fnDefinition('closing', { replicasMin: 2 })]);
    const origins = await readyOrigins(h, 'closing', 2);
    const pids = await Promise.all(origins.map((origin) => replicaPid(origin)));
    await h.orchestrator.close();
    expect(pids.map((pid) => processIsGone(pid))).toEqual([true, true]);
  });

  it('writes each output line, prefixed, to the replica log file and to echoOutput', async () => {
    const h = await startLocal([fnDefinition('logs')]);
    const [origin] = await readyOrigins(h, 'logs', 1);
    await fetch(`${origin}/log?stream=stderr&text=hello-stderr`);
    const logFile = join(h.stateDirectory, 'logs', 'logs-0.log');
    await waitUntil(
      async () => (await readFile(logFile, 'utf8').catch(() => '')).includes('logs-0 | hello-stderr'),
      {
        message: 'stderr line in the log file',
      },
    );
    const content = await readFile(logFile, 'utf8');
    expect(content).toMatch(/^logs-0 \| \{"event":"listening"/m);
    expect(h.lines.map((l) => l.line)).toContain('logs-0 | hello-stderr');
  });

  it('reports PortRangeExhausted while no port is free, and starts the replica once one is', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((done) => blocker.listen(SINGLE_PORT, '127.0.0.1', done));
    cleanups.push(() => new Promise<void>((done) => blocker.close(() => done())));
    const h = await startLocal([fnDefinition('crowded')], {
      processPorts: { from: SINGLE_PORT, to: SINGLE_PORT },
    });
    await waitUntil(() => h.state('crowded').replicas[0]?.failureReason === 'PortRangeExhausted', {
      message: 'PortRangeExhausted',
    });
    expect(h.state('crowded').replicas[0]).toMatchObject({ ready: false, origin: '' });
    await new Promise<void>((done) => blocker.close(() => done()));
    const [origin] = await readyOrigins(h, 'crowded', 1);
    expect(origin).toBe(`http://127.0.0.1:${SINGLE_PORT}`);
    expect(h.state('crowded').replicas[0]?.failureReason).toBeUndefined();
  });

  it('reports SpawnFailed for a command that does not exist', async () => {
    const h = await startLocal([fnDefinition('missing', { command: ['/nonexistent/slimfaas-test-binary'] })]);
    await waitUntil(() => h.state('missing').replicas[0]?.failureReason === 'SpawnFailed', {
      message: 'SpawnFailed',
    });
  });
});

describe('LocalProcessOrchestrator watchdog', () => {
  it('kills every replica when the SlimFaas process is SIGKILLed', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'slimfaas-watchdog-'));
    const running: { driver?: ChildProcess; replica?: number } = {};
    cleanups.push(async () => {
      running.driver?.kill('SIGKILL');
      if (running.replica !== undefined && !processIsGone(running.replica))
        process.kill(-running.replica, 'SIGKILL');
      await rm(directory, { recursive: true, force: true });
    });
    const driverPath = join(directory, 'driver.mjs');
    await writeFile(driverPath, WATCHDOG_DRIVER);
    const driver = spawn(process.execPath, ['--import', 'tsx', driverPath], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        ORCHESTRATOR_MODULE: pathToFileURL(join(REPO_ROOT, 'src/orchestrators/local-process/index.ts')).href,
        SPEC: JSON.stringify(testFunctionSpec('guarded', { replicasMin: 1 })),
        FN_SERVER: FN_SERVER_PATH,
        STATE_DIR: directory,
        PORT_FROM: String(WATCHDOG_PORTS.from),
        PORT_TO: String(WATCHDOG_PORTS.to),
      },
    });
    running.driver = driver;
    let output = '';
    driver.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const replica = await waitUntil(() => /"readyPid":(\d+)/.exec(output)?.[1], {
      timeoutMs: 15_000,
      message: 'driver reports its ready replica',
    }).then(Number);
    running.replica = replica;
    expect(processIsGone(replica)).toBe(false);
    driver.kill('SIGKILL');
    await waitUntil(() => processIsGone(replica), {
      timeoutMs: 8000,
      message: 'replica killed by the watchdog',
    });
  }, 30_000);
});

/** Plays SlimFaas: starts an orchestrator with one replica, prints the replica's pid, and waits to be killed. */
const WATCHDOG_DRIVER = `
const { LocalProcessOrchestrator } = await import(process.env.ORCHESTRATOR_MODULE);
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent, isLevelEnabled: () => false };
const orchestrator = new LocalProcessOrchestrator({
  functions: [{
    spec: JSON.parse(process.env.SPEC),
    command: [process.execPath, process.env.FN_SERVER],
    workingDirectory: process.cwd(),
    environment: {},
    health: { path: '/health', periodSeconds: 1, timeoutSeconds: 1, startupTimeoutSeconds: 10 },
  }],
  processPorts: { from: Number(process.env.PORT_FROM), to: Number(process.env.PORT_TO) },
  stateDirectory: process.env.STATE_DIR,
  logger: silent,
  stopGraceMs: 1000,
});
orchestrator.subscribe(async (event) => {
  if (event.kind !== 'replica-ready') return;
  const origin = orchestrator.functions().get('guarded').replicas[0].origin;
  const { pid } = await (await fetch(origin + '/pid')).json();
  console.log(JSON.stringify({ readyPid: pid }));
});
await orchestrator.start();
setInterval(() => {}, 60_000);
`;
