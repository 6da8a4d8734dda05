import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FN_SERVER, startSlimFaas, status, type SlimFaasProcess } from '../helpers/slimfaas-process.js';
import { startCollector } from '../helpers/delivery-collector.js';
import { waitUntil } from '../helpers/wait-until.js';

/** Port range 44000–44099 is this file's. */

function sinkFunction(
  name: string,
  collector: string,
  extra: { env?: string; annotations?: string } = {},
): string {
  return `
  ${name}:
    command: [node, ${FN_SERVER}]
    environment: { TEST_FUNCTION: ${name}, EVENT_COLLECTOR_URL: "${collector}"${extra.env ?? ''} }
    annotations:
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "60"
${extra.annotations ?? ''}
    health: { path: /health }`;
}

let collector: Awaited<ReturnType<typeof startCollector>>;
let sf: SlimFaasProcess;

beforeAll(async () => {
  collector = await startCollector();
  const c = collector.url;
  sf = await startSlimFaas(
    `
schemaVersion: 1
name: e2e-async
processPorts: { from: 44000, to: 44049 }
state: { mode: ephemeral }
functions:${sinkFunction('sink', c)}${sinkFunction('flaky', c, {
      env: ', FAIL_FIRST_N: "2"',
      annotations: `      SlimFaas/Configuration: '{"DefaultAsync":{"TimeoutRetries":[0.1,0.1],"HttpStatusRetries":[500]}}'`,
    })}${sinkFunction('broken', c, {
      annotations: `      SlimFaas/Configuration: '{"DefaultAsync":{"TimeoutRetries":[0.05],"HttpStatusRetries":[500]}}'`,
    })}${sinkFunction('secret', c, { annotations: '      SlimFaas/DefaultVisibility: Private' })}
`,
    { env: { SLIMFAAS_ASYNC_MAX_BODY_BYTES: '1000' } },
  );
});

afterAll(async () => {
  await sf?.stop();
  collector?.server.close();
});

describe('async calls: /async-function', () => {
  it('answers 404 for an unknown or private function and 413 for a body over the limit', async () => {
    expect((await fetch(`${sf.url}/async-function/nope/x`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${sf.url}/async-function/secret/x`, { method: 'POST' })).status).toBe(404);
    const big = await fetch(`${sf.url}/async-function/sink/x`, { method: 'POST', body: Buffer.alloc(1001) });
    expect(big.status).toBe(413);
  });

  it('accepts with 202 and an element id, wakes the function and replays the exact request', async () => {
    expect((await status(sf.url, 'sink')).NumberRequested).toBe(0);
    const res = await fetch(`${sf.url}/async-function/sink/event-sink/a/?q=1&r`, {
      method: 'DELETE',
      headers: { 'x-custom': 'kept', authorization: 'Bearer t' },
      body: 'payload-1',
    });
    expect(res.status).toBe(202);
    const id = res.headers.get('slimfaas-element-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const delivery = await waitUntil(
      () => collector.deliveries.find((d) => d.headers['slimfaas-element-id'] === id),
      {
        timeoutMs: 15_000,
      },
    );
    expect(delivery).toMatchObject({
      function: 'sink',
      method: 'DELETE',
      path: '/event-sink/a/',
      body: 'payload-1',
    });
    expect(delivery.query).toEqual({ q: '1', r: '' });
    expect(delivery.headers['x-custom']).toBe('kept');
    expect(delivery.headers.authorization).toBe('Bearer t');
    expect(delivery.headers['slimfaas-try-number']).toBe('1');
    expect(delivery.headers['slimfaas-last-try']).toBe('false');
  });

  it('retries a failing function at the configured delays and marks the final attempt', async () => {
    const res = await fetch(`${sf.url}/async-function/flaky/event-sink/r`, { method: 'POST', body: 'r' });
    const id = res.headers.get('slimfaas-element-id');
    const attempts = await waitUntil(
      () => {
        const found = collector.deliveries.filter((d) => d.headers['slimfaas-element-id'] === id);
        return found.length === 3 ? found : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(attempts.map((d) => d.headers['slimfaas-try-number'])).toEqual(['1', '2', '3']);
    expect(attempts.map((d) => d.headers['slimfaas-last-try'])).toEqual(['false', 'false', 'true']);
  });

  it('dead-letters an element after its last attempt; it can be listed, retried and deleted', async () => {
    const res = await fetch(`${sf.url}/async-function/broken/status/500`, { method: 'POST', body: 'x' });
    const id = res.headers.get('slimfaas-element-id') as string;
    const list = async () =>
      (await (await fetch(`${sf.url}/async-function-dead-letters/broken`)).json()) as {
        id: string;
        lastStatus: number;
        attempts: unknown[];
      }[];
    const dead = await waitUntil(async () => (await list()).find((d) => d.id === id), { timeoutMs: 15_000 });
    expect(dead.lastStatus).toBe(500);
    expect(dead.attempts).toHaveLength(2);
    const queue = (
      (await (await fetch(`${sf.url}/status-function/broken`)).json()) as { Queue: { Dead: number } }
    ).Queue;
    expect(queue.Dead).toBe(1);
    const metrics = await (await fetch(`${sf.url}/metrics`)).text();
    expect(metrics).toContain('slimfaas_function_queue_dead_letter_items{function="broken"} 1');
    expect(metrics).toContain('slimfaas_function_queue_ready_items{function="sink"}');
    expect(metrics).toMatch(
      /slimfaas_http_request_duration_seconds_count\{route_kind="async",status_class="2xx"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /slimfaas_http_request_duration_seconds_count\{route_kind="async",status_class="4xx"\} [1-9]/,
    );
    const retried = await fetch(`${sf.url}/async-function-dead-letters/broken/${id}/retry`, {
      method: 'POST',
    });
    expect(retried.status).toBe(204);
    await waitUntil(async () => (await list()).find((d) => d.id === id && d.attempts.length === 2), {
      timeoutMs: 15_000,
    });
    expect(
      (await fetch(`${sf.url}/async-function-dead-letters/broken/${id}`, { method: 'DELETE' })).status,
    ).toBe(204);
    expect(
      (await fetch(`${sf.url}/async-function-dead-letters/broken/${id}`, { method: 'DELETE' })).status,
    ).toBe(404);
  });
});

describe('async calls: at-least-once across kill -9', () => {
  it('delivers every accepted request after SlimFaas is killed mid-burst and restarted', async () => {
    const own = await startCollector();
    const state = mkdtempSync(join(tmpdir(), 'slimfaas-async-state-'));
    const manifest = `
schemaVersion: 1
name: e2e-async-kill
processPorts: { from: 44050, to: 44099 }
state: { mode: persistent, directory: ${state} }
functions:${sinkFunction('slowsink', own.url, {
      env: ', SINK_DELAY_MS: "20"',
      // Leases of the killed process expire after HttpTimeout + 10 s; a short HttpTimeout keeps the test short.
      annotations:
        '      SlimFaas/NumberParallelRequest: "4"\n' +
        `      SlimFaas/Configuration: '{"DefaultAsync":{"HttpTimeout":2}}'`,
    })}
`;
    let first: SlimFaasProcess | undefined = await startSlimFaas(manifest);
    const accepted = new Set<string>();
    try {
      const total = 300;
      let sent = 0;
      const worker = async () => {
        while (sent < total) {
          sent++;
          const res = await fetch(`${first?.url}/async-function/slowsink/event-sink/k`, {
            method: 'POST',
            body: 'k',
          });
          if (res.status === 202) accepted.add(res.headers.get('slimfaas-element-id') as string);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      await waitUntil(() => own.deliveries.length >= 20, {
        timeoutMs: 15_000,
        message: 'deliveries started',
      });
      expect(await first.stop('SIGKILL')).toBeNull();
      first = undefined;
      const deliveredBeforeKill = new Set(own.deliveries.map((d) => d.headers['slimfaas-element-id']));
      expect(deliveredBeforeKill.size).toBeLessThan(accepted.size);
      first = await startSlimFaas(manifest);
      await waitUntil(
        () => {
          const received = new Set(own.deliveries.map((d) => d.headers['slimfaas-element-id']));
          return [...accepted].every((id) => received.has(id));
        },
        { timeoutMs: 45_000, message: 'every accepted request delivered' },
      );
      expect(accepted.size).toBe(300);
    } finally {
      await first?.stop();
      own.server.close();
    }
  });
});
