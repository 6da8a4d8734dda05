import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeIp, parseCidr, type Cidr } from '../../src/core/caller.js';
import { ipCallerPolicy } from '../../src/http/caller-policy.js';
import { testFunctionSpec } from '../contracts/orchestrator-contract.js';
import { startAppStack, type AppStack } from '../helpers/app-stack.js';
import { rawRequest } from '../helpers/raw-http.js';
import { waitUntil } from '../helpers/wait-until.js';

/**
 * Sync calls through both listeners, and through an IP-classified listener (as Kubernetes will use)
 * with real connections from chosen loopback addresses: Linux routes all of 127.0.0.0/8 to lo.
 */
const functions = [
  testFunctionSpec('open', {
    replicasMin: 1,
    pathsStartWithVisibility: [
      { path: '/admin', visibility: 'Private' },
      { path: '/Internal/Tools', visibility: 'Private' },
    ],
  }),
  testFunctionSpec('closed', {
    replicasMin: 1,
    defaultVisibility: 'Private',
    pathsStartWithVisibility: [{ path: '/public', visibility: 'Public' }],
  }),
];

const ATTACK_PATHS = [
  '/admin',
  '/Admin',
  '/ADMIN/users',
  '//admin',
  '///admin/x',
  '/%61dmin',
  '/%41dmin',
  '/public/../admin',
  '/public/%2e%2e/admin',
  '/public%2F..%2Fadmin',
  '/public\\..\\admin',
  '/./admin',
  '/internal//tools',
  '/INTERNAL/tools/',
];

let plain: AppStack;
let byIp: AppStack;
/** The pod IP of a trusted function; the IP-classified listener trusts only this address. */
const TRUSTED = '127.0.0.12';

beforeAll(async () => {
  plain = await startAppStack(functions);
  byIp = await startAppStack(functions, {
    isInternalCaller: ipCallerPolicy({
      trustedIps: () => new Set([normalizeIp(TRUSTED) as string]),
      trustedProxies: [parseCidr('127.0.0.2') as Cidr],
    }),
  });
  for (const stack of [plain, byIp])
    await waitUntil(() => [...stack.orchestrator.functions().values()].every((f) => f.replicas[0]?.ready));
});

afterAll(async () => {
  await plain?.close();
  await byIp?.close();
});

describe('sync visibility, local-mode listeners', () => {
  it.each(ATTACK_PATHS)(
    'answers 404 to an external caller for %j (a private path in disguise)',
    async (path) => {
      const res = await rawRequest({ url: plain.url, path: `/function/open${path}` });
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'function_not_found' });
    },
  );

  it('lets an internal caller reach the same private paths', async () => {
    for (const path of ATTACK_PATHS) {
      const res = await rawRequest({ url: plain.internalUrl, path: `/function/open${path}` });
      expect(res.status, path).toBe(200);
    }
  });

  it('serves public paths of a public function to everybody', async () => {
    for (const path of ['/', '/public/admin', '/adm', '/%2561dmin', '/x?path=/admin']) {
      const res = await rawRequest({ url: plain.url, path: `/function/open${path}` });
      expect(res.status, path).toBe(200);
    }
  });

  it('hides a private function from outside, except its public prefix, whatever the spelling', async () => {
    for (const path of ['', '/', '/x', '/Public/../x', '//x', '/publicity/../x'])
      expect((await rawRequest({ url: plain.url, path: `/function/closed${path}` })).status, path).toBe(404);
    for (const path of ['/public', '/PUBLIC/x', '//public//x'])
      expect((await rawRequest({ url: plain.url, path: `/function/closed${path}` })).status, path).toBe(200);
    expect((await rawRequest({ url: plain.internalUrl, path: '/function/closed/x' })).status).toBe(200);
  });

  it('ignores a forged X-Forwarded-For on the public entrypoint', async () => {
    const res = await rawRequest({
      url: plain.url,
      path: '/function/closed/x',
      headers: { 'x-forwarded-for': '127.0.0.1', forwarded: 'for=127.0.0.1' },
    });
    expect(res.status).toBe(404);
  });
});

describe('sync visibility, caller classified by IP', () => {
  const call = (localAddress: string, headers: Record<string, string> = {}) =>
    rawRequest({ url: byIp.url, path: '/function/closed/x', localAddress, headers });

  it('accepts a connection from the trusted pod IP', async () => {
    expect((await call(TRUSTED)).status).toBe(200);
  });

  it('rejects an IP that is a prefix of the trusted pod IP, and one that contains it', async () => {
    expect((await call('127.0.0.1')).status).toBe(404);
    expect((await call('127.0.0.120')).status).toBe(404);
  });

  it('rejects a forged X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    expect((await call('127.0.0.3', { 'x-forwarded-for': TRUSTED })).status).toBe(404);
  });

  it('believes X-Forwarded-For from the trusted proxy, right-most hop first', async () => {
    expect((await call('127.0.0.2', { 'x-forwarded-for': TRUSTED })).status).toBe(200);
    expect((await call('127.0.0.2', { 'x-forwarded-for': `${TRUSTED}, 127.0.0.3` })).status).toBe(404);
    expect((await call('127.0.0.2', { 'x-forwarded-for': '127.0.0.1' })).status).toBe(404);
  });
});
