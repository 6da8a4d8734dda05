import { testFunctionSpec } from '../../helpers/test-function-spec.js';
import { describe, expect, it } from 'vitest';
import type { FunctionState, Replica } from '../../../src/core/topology.js';
import { HeldRequests } from '../../../src/http/held-requests.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../../../src/http/hop-by-hop.js';
import { ReplicaBalancer } from '../../../src/http/replica-balancer.js';
import { splitNameAndPath } from '../../../src/http/routes/function-route.js';

const spec = (name: string) => testFunctionSpec(name);

function fnWith(replicas: Replica[]): FunctionState {
  return { spec: spec('fib'), podType: 'Process', requested: replicas.length, replicas };
}

function replica(id: string, ready = true): Replica {
  return { id, origin: `http://127.0.0.1/${id}`, ip: '127.0.0.1', ready };
}

describe('splitNameAndPath', () => {
  it.each([
    ['fib', 'fib', '/'],
    ['fib/', 'fib', '/'],
    ['fib/hello/x', 'fib', '/hello/x'],
    ['fib/hello/x/', 'fib', '/hello/x/'],
    ['fib?a=1&b', 'fib', '/?a=1&b'],
    ['fib/p?q=%20', 'fib', '/p?q=%20'],
    ['', '', '/'],
  ])('splits %s into name %s and path %s', (rest, name, path) => {
    expect(splitNameAndPath(rest)).toEqual({ name, path });
  });
});

describe('upstreamRequestHeaders', () => {
  it('drops hop-by-hop fields, fields named by Connection, and Host; adds X-Forwarded-*', () => {
    const out = upstreamRequestHeaders(
      [
        'Host',
        'a.example',
        'Connection',
        'keep-alive, X-Secret',
        'X-Secret',
        's',
        'Keep-Alive',
        '5',
        'TE',
        'trailers',
        'Transfer-Encoding',
        'chunked',
        'Upgrade',
        'h2c',
        'Accept',
        'text/plain',
        'Authorization',
        'Bearer t',
      ],
      'keep-alive, X-Secret',
      { remoteAddress: '10.1.2.3', proto: 'http' },
    );
    expect(out).toEqual([
      'Accept',
      'text/plain',
      'Authorization',
      'Bearer t',
      'x-forwarded-for',
      '10.1.2.3',
      'x-forwarded-host',
      'a.example',
      'x-forwarded-proto',
      'http',
    ]);
  });

  it('appends the peer address to an existing X-Forwarded-For chain', () => {
    const out = upstreamRequestHeaders(['X-Forwarded-For', '1.1.1.1'], undefined, {
      remoteAddress: '2.2.2.2',
      proto: 'http',
    });
    expect(out.slice(0, 2)).toEqual(['x-forwarded-for', '1.1.1.1, 2.2.2.2']);
  });
});

describe('downstreamResponseHeaders', () => {
  it('keeps end-to-end fields (even repeated Set-Cookie) and drops hop-by-hop ones', () => {
    const raw = [
      'Content-Type',
      'text/plain',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'Connection',
      'close, X-Hop',
      'X-Hop',
      '1',
      'Transfer-Encoding',
      'chunked',
      'Location',
      '/elsewhere',
    ];
    expect(downstreamResponseHeaders(raw, 'close, X-Hop', ['x-slimfaas-cold-start', 'true'])).toEqual([
      'Content-Type',
      'text/plain',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'Location',
      '/elsewhere',
      'x-slimfaas-cold-start',
      'true',
    ]);
  });
});

describe('ReplicaBalancer', () => {
  it('round-robins among idle ready replicas and skips replicas that are not ready', () => {
    const balancer = new ReplicaBalancer();
    const fn = fnWith([replica('a'), replica('b', false), replica('c')]);
    const picks = [0, 1, 2, 3].map(() => balancer.pick(fn)?.id);
    expect(picks).toEqual(['a', 'c', 'a', 'c']);
  });

  it('prefers the replica with the fewest in-flight requests', () => {
    const balancer = new ReplicaBalancer();
    const fn = fnWith([replica('a'), replica('b'), replica('c')]);
    balancer.acquire('a');
    balancer.acquire('b');
    balancer.acquire('b');
    balancer.acquire('c');
    expect(balancer.pick(fn)?.id).toBe('a');
    balancer.release('b');
    balancer.release('b');
    expect(balancer.pick(fn)?.id).toBe('b');
  });

  it('returns undefined when no replica is ready', () => {
    expect(new ReplicaBalancer().pick(fnWith([replica('a', false)]))).toBeUndefined();
  });
});

describe('HeldRequests', () => {
  const never = () => () => undefined;

  it('releases every held request of a function at once', async () => {
    const held = new HeldRequests(10);
    const a = held.hold('fib', 10_000, never);
    const b = held.hold('fib', 10_000, never);
    const other = held.hold('other', 10_000, never);
    expect(held.count('fib')).toBe(2);
    held.release('fib');
    await expect(Promise.all([a, b])).resolves.toEqual(['ready', 'ready']);
    expect(held.count('fib')).toBe(0);
    expect(held.count('other')).toBe(1);
    held.releaseAll('shutdown');
    await expect(other).resolves.toBe('shutdown');
  });

  it('answers overflow beyond the per-function bound', async () => {
    const held = new HeldRequests(1);
    const first = held.hold('fib', 10_000, never);
    await expect(held.hold('fib', 10_000, never)).resolves.toBe('overflow');
    held.release('fib');
    await expect(first).resolves.toBe('ready');
  });

  it('times out, and reports a client abort', async () => {
    const held = new HeldRequests(5);
    await expect(held.hold('fib', 5, never)).resolves.toBe('timeout');
    let abort: (() => void) | undefined;
    const p = held.hold('fib', 10_000, (a) => {
      abort = a;
      return () => undefined;
    });
    abort?.();
    await expect(p).resolves.toBe('aborted');
    expect(held.count('fib')).toBe(0);
  });
});
