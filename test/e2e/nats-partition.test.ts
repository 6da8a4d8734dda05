import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../helpers/delivery-collector.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { FN_SERVER, startSlimFaas, type SlimFaasProcess } from '../helpers/slimfaas-process.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitUntil } from '../helpers/wait-until.js';

// Issue 6, "a replica partitioned from NATS": two SlimFaas processes share one nats-server; A reaches it
// through a TCP proxy that the test cuts. Ports 45450–45489 (replicas) belong to this file.
const manifest = (name: string, collector: string, from: number): string => `
schemaVersion: 1
name: ${name}
processPorts: { from: ${from}, to: ${from + 19} }
state: { mode: ephemeral }
functions:
  sink:
    command: [node, ${FN_SERVER}]
    environment: { TEST_FUNCTION: sink, EVENT_COLLECTOR_URL: "${collector}" }
    annotations:
      SlimFaas/ReplicasMin: "1"
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "600"
    health: { path: /health, periodSeconds: 1 }
`;

async function post(url: string, id: string): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${url}/async-function/sink/event-sink/${id}`, {
    method: 'POST',
    body: id,
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: await res.text(), ms: Date.now() - started };
}

describe('a replica partitioned from NATS', { timeout: 90_000 }, () => {
  let nats: NatsServer;
  let proxy: TcpProxy;
  let a: SlimFaasProcess;
  let b: SlimFaasProcess;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  const env = { SLIMFAAS_LEADER_LEASE_MS: '2000', SLIMFAAS_SHUTDOWN_GRACE_MS: '2000' };

  beforeAll(async () => {
    collector = await startCollector();
    nats = await startNatsServer();
    proxy = await startTcpProxy(nats.port);
    b = await startSlimFaas(manifest('e2e-partition-b', collector.url, 45470), {
      env: { ...env, SLIMFAAS_STORE: nats.url },
      timeoutMs: 30_000,
    });
    // B leads (it started alone): it starts its sink replica.
    await waitUntil(async () => (await fetch(`${b.url}/function/sink/health`)).status === 200, {
      timeoutMs: 30_000,
      message: 'B serves sink',
    });
    a = await startSlimFaas(manifest('e2e-partition-a', collector.url, 45450), {
      env: { ...env, SLIMFAAS_STORE: `nats://127.0.0.1:${proxy.port}` },
      timeoutMs: 30_000,
    });
  }, 80_000);
  afterAll(async () => {
    for (const sf of [a, b]) if (sf !== undefined && sf.child.exitCode === null) await sf.stop('SIGTERM');
    await proxy?.close();
    await nats?.stop();
    collector?.server.close();
  });

  it('answers 503 store_unavailable for async while cut off, never 202; 202 again once healed; all delivered', async () => {
    const before = await post(a.url, 'before-cut');
    expect(before.status).toBe(202);
    await proxy.cut();
    const during = await Promise.all(Array.from({ length: 5 }, (_, i) => post(a.url, `during-cut-${i}`)));
    for (const answer of during) {
      expect(answer.status, answer.body).toBe(503);
      expect(answer.body).toContain('store_unavailable');
    }
    // The other replica keeps accepting meanwhile.
    const other = await post(b.url, 'other-replica');
    expect(other.status).toBe(202);
    await proxy.heal();
    const after = await waitUntil(
      async () => {
        const answer = await post(a.url, 'after-heal');
        return answer.status === 202 ? answer : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: 'A accepts again' },
    );
    expect(after.status).toBe(202);
    const ids = () => new Set(collector.deliveries.map((d) => d.body));
    await waitUntil(() => ['before-cut', 'other-replica', 'after-heal'].every((id) => ids().has(id)), {
      timeoutMs: 30_000,
      message: 'every accepted message delivered',
    });
    console.log(
      `[faults] partition: 503 answered in ${during.map((d) => d.ms).join(', ')} ms; ` +
        `refused during the cut delivered anyway: ${during.filter((d) => ids().has(d.body)).length}`,
    );
  });
});
