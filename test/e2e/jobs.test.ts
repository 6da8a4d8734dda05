import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FN_SERVER, isAlive, startSlimFaas, type SlimFaasProcess } from '../helpers/slimfaas-process.js';
import { waitUntil } from '../helpers/wait-until.js';

/**
 * Jobs in local mode, through the built CLI with real processes. Port range 46000–46199 is this file's.
 *
 * The job is `node -e <script>`: its `Args` are appended, so `process.argv.slice(1)` are the run's args. It
 * appends a start record to $OUT, optionally calls a private function through $SLIMFAAS_URL, sleeps
 * $SLEEP_MS and appends an end record.
 */
const JOB_SCRIPT = `
const fs = require('fs');
const out = process.env.OUT;
const args = process.argv.slice(1);
const record = (r) => fs.appendFileSync(out, JSON.stringify({ ...r, args, run: process.env.SLIMFAAS_JOB_RUN_NAME, job: process.env.SLIMFAAS_JOB_NAME, greeting: process.env.GREETING, pid: process.pid }) + '\\n');
(async () => {
  record({ event: 'start', at: Date.now() });
  if (process.env.CALL_PRIVATE) {
    const res = await fetch(process.env.SLIMFAAS_URL + '/function/vault/echo/from-job');
    record({ event: 'called', status: res.status });
  }
  await new Promise((r) => setTimeout(r, Number(process.env.SLEEP_MS || 0)));
  record({ event: 'end', at: Date.now() });
  process.exit(args.includes('fail') ? 3 : 0);
})();
`;

interface JobRecord {
  event: 'start' | 'end' | 'called';
  args: string[];
  run: string;
  job: string;
  greeting?: string;
  status?: number;
  pid: number;
}

function manifest(out: string, stateDirectory: string): string {
  const job = (
    name: string,
    env: Record<string, string>,
    annotations: Record<string, string>,
    extra = '',
  ) => `
  ${name}:
    command: [node, -e, ${JSON.stringify(JOB_SCRIPT)}]
    environment: ${JSON.stringify({ OUT: out, ...env })}
    annotations: ${JSON.stringify(annotations)}${extra}`;
  return `
schemaVersion: 1
name: e2e-jobs
processPorts: { from: 46000, to: 46099 }
state: { mode: persistent, directory: ${JSON.stringify(stateDirectory)} }
functions:
  vault:
    command: [node, ${FN_SERVER}]
    annotations: { SlimFaas/ReplicasMin: '0', SlimFaas/DefaultVisibility: Private }
    health: { path: /health }
jobs:${[
    job(
      'hello',
      { GREETING: 'hi', CALL_PRIVATE: '1' },
      { 'SlimFaas/DefaultVisibility': 'Public', 'SlimFaas/DependsOn': 'vault' },
    ),
    job(
      'serial',
      { SLEEP_MS: '400' },
      { 'SlimFaas/DefaultVisibility': 'Public', 'SlimFaas/NumberParallelJob': '1' },
    ),
    job('slow', { SLEEP_MS: '4000' }, { 'SlimFaas/DefaultVisibility': 'Public' }),
    job(
      'images',
      {},
      { 'SlimFaas/DefaultVisibility': 'Public', 'SlimFaas/JobImagesWhitelist': 'registry.local/batch:*' },
    ),
    job('secret', {}, {}),
    job('long', { SLEEP_MS: '60000' }, { 'SlimFaas/DefaultVisibility': 'Public' }),
    job('flaky', {}, { 'SlimFaas/DefaultVisibility': 'Public' }, '\n    backoffLimit: 2'),
  ].join('')}
`;
}

describe('jobs in local mode (slimfaas up)', () => {
  let dir: string;
  let out: string;
  let yaml: string;
  let slimfaas: SlimFaasProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'slimfaas-jobs-e2e-'));
    out = join(dir, 'records.jsonl');
    yaml = manifest(out, join(dir, 'state'));
  });
  afterEach(async () => {
    await slimfaas?.stop();
    slimfaas = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const records = (): JobRecord[] =>
    existsSync(out)
      ? readFileSync(out, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as JobRecord)
      : [];
  const submit = async (url: string, name: string, body: unknown) => {
    const res = await fetch(`${url}/job/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('runs a job with its args and environment; the job reaches a private function, the outside cannot', async () => {
    slimfaas = await startSlimFaas(yaml);
    const { status, json } = await submit(slimfaas.url, 'hello', { Args: ['42', 'forty two'] });
    expect(status).toBe(202);
    expect(json.Id).toMatch(/^[0-9a-f-]{36}$/);
    const end = await waitUntil(() => records().find((r) => r.job === 'hello' && r.event === 'end'), {
      timeoutMs: 30_000,
      message: 'hello ran',
    });
    expect(end.args).toEqual(['42', 'forty two']);
    expect(end.greeting).toBe('hi');
    expect(end.run).toMatch(/^hello-slimfaas-job-[a-z0-9]{8}$/);
    expect(records().find((r) => r.job === 'hello' && r.event === 'called')?.status).toBe(200);
    expect((await fetch(`${slimfaas.url}/function/vault/echo/outside`)).status).toBe(404);
    const list = await waitUntil(
      async () => {
        const res = await fetch(`${slimfaas!.url}/job/hello`);
        const body = (await res.json()) as unknown[];
        return body.length === 0 ? body : undefined;
      },
      { message: 'finished run leaves the list' },
    );
    expect(list).toEqual([]);
  });

  it('runs three submissions one after another in order with NumberParallelJob 1', async () => {
    slimfaas = await startSlimFaas(yaml);
    const ids: string[] = [];
    for (const arg of ['a', 'b', 'c'])
      ids.push(String((await submit(slimfaas.url, 'serial', { Args: [arg] })).json.Id));
    const listed = (await (await fetch(`${slimfaas.url}/job/serial`)).json()) as {
      Id: string;
      Status: string;
      PositionInQueue: number;
    }[];
    expect(listed.map((r) => r.Id)).toEqual(ids);
    expect(listed.map((r) => r.Status)).toEqual(['Running', 'Queued', 'Queued']);
    expect(listed.map((r) => r.PositionInQueue)).toEqual([-1, 0, 1]);
    await waitUntil(() => records().filter((r) => r.job === 'serial' && r.event === 'end').length === 3, {
      timeoutMs: 30_000,
      message: 'three serial runs',
    });
    const events = records()
      .filter((r) => r.job === 'serial')
      .map((r) => `${r.event}:${r.args.join('')}`);
    expect(events).toEqual(['start:a', 'end:a', 'start:b', 'end:b', 'start:c', 'end:c']);
  });

  it('cancels a queued run and deletes a running one', async () => {
    slimfaas = await startSlimFaas(yaml);
    const first = String((await submit(slimfaas.url, 'slow', { Args: ['first'] })).json.Id);
    const second = String((await submit(slimfaas.url, 'slow', { Args: ['second'] })).json.Id);
    expect((await fetch(`${slimfaas.url}/job/slow/${second}`, { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`${slimfaas.url}/job/slow/${second}`, { method: 'DELETE' })).status).toBe(404);
    await waitUntil(() => records().some((r) => r.job === 'slow' && r.event === 'start'), {
      message: 'first started',
    });
    expect((await fetch(`${slimfaas.url}/job/slow/${first}`, { method: 'DELETE' })).status).toBe(200);
    expect(await (await fetch(`${slimfaas.url}/job/slow`)).json()).toEqual([]);
    const slow = records().filter((r) => r.job === 'slow');
    expect(slow.map((r) => `${r.event}:${r.args.join('')}`)).toEqual(['start:first']);
  });

  it('refuses an image outside the whitelist, a private job from outside, bad JSON and unknown jobs', async () => {
    slimfaas = await startSlimFaas(yaml);
    const refused = await submit(slimfaas.url, 'images', { Image: 'docker.io/evil:latest' });
    expect(refused).toMatchObject({ status: 400, json: { error: 'image_not_allowed' } });
    expect((await submit(slimfaas.url, 'images', { Image: 'registry.local/batch:1.2' })).status).toBe(202);
    expect(await submit(slimfaas.url, 'secret', {})).toMatchObject({
      status: 400,
      json: { error: 'visibility_private' },
    });
    expect(await submit(slimfaas.url, 'nope', {})).toMatchObject({
      status: 404,
      json: { error: 'job_not_found' },
    });
    expect(await submit(slimfaas.url, 'hello', { args: ['x'] })).toMatchObject({
      status: 400,
      json: { error: 'bad_request' },
    });
    const bad = await fetch(`${slimfaas.url}/job/hello`, { method: 'POST', body: '{"Args": [' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/not valid JSON/);
    const status = (await (await fetch(`${slimfaas.url}/status-jobs`)).json()) as { Name: string }[];
    expect(status.map((s) => s.Name)).toEqual([
      'hello',
      'serial',
      'slow',
      'images',
      'secret',
      'long',
      'flaky',
    ]);
  });

  it('retries a failing run per backoffLimit, then drops it', async () => {
    slimfaas = await startSlimFaas(yaml);
    expect((await submit(slimfaas.url, 'flaky', { Args: ['fail'] })).status).toBe(202);
    await waitUntil(() => records().filter((r) => r.job === 'flaky' && r.event === 'end').length === 3, {
      timeoutMs: 30_000,
      message: 'three attempts',
    });
    await waitUntil(
      async () => ((await (await fetch(`${slimfaas!.url}/job/flaky`)).json()) as unknown[]).length === 0,
      {
        message: 'failed run leaves the list',
      },
    );
    expect(records().filter((r) => r.job === 'flaky' && r.event === 'start')).toHaveLength(3);
  });

  it('runs a job that was queued when SlimFaas stopped, after the restart', async () => {
    slimfaas = await startSlimFaas(yaml);
    await submit(slimfaas.url, 'slow', { Args: ['running-at-stop'] });
    const queued = String((await submit(slimfaas.url, 'slow', { Args: ['queued-at-stop'] })).json.Id);
    await waitUntil(() => records().some((r) => r.args.includes('running-at-stop')), {
      message: 'first started',
    });
    expect(await slimfaas.stop()).toBe(0);
    expect(records().some((r) => r.args.includes('queued-at-stop'))).toBe(false);
    slimfaas = await startSlimFaas(yaml);
    const url = slimfaas.url;
    await waitUntil(
      async () => {
        const listed = (await (await fetch(`${url}/job/slow`)).json()) as { Id: string }[];
        return listed.some((r) => r.Id === queued);
      },
      { message: 'the queued run is listed again after the restart' },
    );
    await waitUntil(() => records().some((r) => r.args.includes('queued-at-stop') && r.event === 'end'), {
      timeoutMs: 40_000,
      message: 'queued job ran after restart',
    });
  });

  it('leaves no job process behind when SlimFaas is killed with SIGKILL', async () => {
    slimfaas = await startSlimFaas(yaml);
    await submit(slimfaas.url, 'long', { Args: ['orphan-check'] });
    const started = await waitUntil(
      () => records().find((r) => r.args.includes('orphan-check') && r.event === 'start'),
      { timeoutMs: 30_000, message: 'the run started' },
    );
    expect(isAlive(started.pid)).toBe(true);
    await slimfaas.stop('SIGKILL');
    await waitUntil(() => !isAlive(started.pid), {
      timeoutMs: 20_000,
      message: 'the watchdog stopped the job',
    });
    expect(records().some((r) => r.args.includes('orphan-check') && r.event === 'end')).toBe(false);
  });
});
