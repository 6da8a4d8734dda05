import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { CLI, FN_SERVER, startSlimFaas, type SlimFaasProcess } from '../helpers/slimfaas-process.js';
import { startCollector } from '../helpers/delivery-collector.js';
import { waitUntil } from '../helpers/wait-until.js';

/** Port range 44300–44349 is this file's. */

const manifest = (collector: string, from: number, to: number): string => `
schemaVersion: 1
name: e2e-async-nats
processPorts: { from: ${from}, to: ${to} }
state: { mode: ephemeral }
functions:
  sink:
    command: [node, ${FN_SERVER}]
    environment: { TEST_FUNCTION: sink, EVENT_COLLECTOR_URL: "${collector}" }
    annotations:
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "60"
    health: { path: /health }
`;

/** A loopback port nothing listens on (taken, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

let nats: NatsServer;
let collector: Awaited<ReturnType<typeof startCollector>>;
let sf: SlimFaasProcess;

beforeAll(async () => {
  nats = await startNatsServer();
  collector = await startCollector();
  sf = await startSlimFaas(manifest(collector.url, 44300, 44329), { env: { SLIMFAAS_STORE: nats.url } });
});

afterAll(async () => {
  await sf?.stop();
  collector?.server.close();
  await nats?.stop();
});

describe('SLIMFAAS_STORE=nats://…', () => {
  it('accepts an async request with 202 and delivers it to the function through NATS', async () => {
    const res = await fetch(`${sf.url}/async-function/sink/event-sink/n`, {
      method: 'POST',
      body: 'via-nats',
    });
    expect(res.status).toBe(202);
    const id = res.headers.get('slimfaas-element-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const delivery = await waitUntil(
      () => collector.deliveries.find((d) => d.headers['slimfaas-element-id'] === id),
      { timeoutMs: 15_000 },
    );
    // The element went through the NATS server: its streams exist in the server's store directory.
    expect(existsSync(join(nats.storeDir, 'jetstream', '$G', 'streams', 'SLIMFAAS_QUEUES'))).toBe(true);
    expect(delivery).toMatchObject({
      function: 'sink',
      method: 'POST',
      path: '/event-sink/n',
      body: 'via-nats',
    });
  });

  it('exits 1 naming the URL when the NATS store cannot be opened', async () => {
    const url = `nats://127.0.0.1:${await closedPort()}`;
    const dir = mkdtempSync(join(tmpdir(), 'slimfaas-e2e-'));
    const file = join(dir, 'slimfaas.yaml');
    writeFileSync(file, manifest('http://127.0.0.1:1/', 44330, 44349));
    const child = spawn(process.execPath, [CLI, 'up', '-f', file, '--port', '0'], {
      cwd: dir,
      env: { ...process.env, SLIMFAAS_LOG_LEVEL: 'warn', SLIMFAAS_STORE: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    clearTimeout(timer);
    expect(code, out).toBe(1);
    expect(out).toContain(`SLIMFAAS_STORE: cannot open the NATS store at ${url}`);
    expect(out).not.toContain('Entrypoint:');
  });
});
