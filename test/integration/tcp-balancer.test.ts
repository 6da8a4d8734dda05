import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpBalancer } from '../../src/cluster/tcp-balancer.js';
import { freePort } from '../../src/cluster/free-port.js';
import { recordingLogger } from '../contracts/orchestrator-contract.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function backend(name: string): Promise<{ name: string; port: number }> {
  const server: Server = createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { name, port: (server.address() as AddressInfo).port };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TcpBalancer', () => {
  it('spreads connections round-robin over healthy backends, skips unhealthy and dead ones', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const dead = { name: 'dead', port: await freePort() };
    const unhealthy = new Set(['b']);
    const balancer = await TcpBalancer.listen({
      host: '127.0.0.1',
      port: 0,
      logger: recordingLogger(),
      isHealthy: (x) => !unhealthy.has(x.name),
    });
    closers.push(() => balancer.close(0));
    balancer.setBackends([a, b, dead]);
    const bodies = [];
    for (let i = 0; i < 6; i++) bodies.push((await get(balancer.url)).body);
    expect(bodies).toEqual(['a', 'a', 'a', 'a', 'a', 'a']);
    unhealthy.clear();
    const spread = new Set<string>();
    for (let i = 0; i < 6; i++) spread.add((await get(balancer.url)).body);
    expect([...spread].sort()).toEqual(['a', 'b']);
  });

  it('answers 503 when no backend is healthy', async () => {
    const balancer = await TcpBalancer.listen({
      host: '127.0.0.1',
      port: 0,
      logger: recordingLogger(),
      isHealthy: () => false,
    });
    closers.push(() => balancer.close(0));
    balancer.setBackends([await backend('a')]);
    expect(await get(balancer.url)).toEqual({ status: 503, body: 'NOT_READY' });
  });
});
