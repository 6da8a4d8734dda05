import { createRequire } from 'node:module';
import type { Pool as UndiciPool } from 'undici';

/**
 * undici's `Pool` and its request API, without undici's index, which also loads fetch, WebSocket, EventSource,
 * the caches and the mock agent: ~8 MiB of resident memory that SlimFaas, using only pools, should not pay
 * (bench/README.md, idle RSS). The `Object.assign` is the index's own line that gives every dispatcher
 * `request()`, `stream()`…; these internal paths are pinned by undici's `~7.30` range in package.json (the same
 * block is in src/workers/async-attempt.ts, which may not import this layer).
 */
const requireUndici = createRequire(import.meta.url);
const Pool = requireUndici('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
type Pool = UndiciPool;
Object.assign(
  (requireUndici('undici/lib/dispatcher/dispatcher.js') as { prototype: object }).prototype,
  requireUndici('undici/lib/api/index.js'),
);
import { H1Pool } from './h1-pool.js';

/**
 * The connection pools per replica origin, created on first use and closed when the replica leaves the
 * topology: an undici Pool for events and other upstream calls, and the sync proxy's own HTTP/1.1 pool
 * (h1-pool.ts; docs/decisions.md D11). Pools are the only place upstream sockets live.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();
  readonly #proxyPools = new Map<string, H1Pool>();

  get(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: 1024,
        pipelining: 1,
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 60_000,
        connect: { timeout: 5_000 },
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /** The sync proxy's keep-alive sockets to `origin` (an `http:` origin). */
  proxy(origin: string): H1Pool {
    let pool = this.#proxyPools.get(origin);
    if (pool === undefined) {
      pool = new H1Pool(origin, { connectTimeoutMs: 5_000, idleTimeoutMs: 4_000, maxIdle: 1024 });
      this.#proxyPools.set(origin, pool);
    }
    return pool;
  }

  /** Closes pools whose origin is not in `live` (in-flight requests on them finish first). */
  retain(live: ReadonlySet<string>): void {
    for (const [origin, pool] of this.#pools) {
      if (live.has(origin)) continue;
      this.#pools.delete(origin);
      void pool.close().catch(() => undefined);
    }
    for (const [origin, pool] of this.#proxyPools) {
      if (live.has(origin)) continue;
      this.#proxyPools.delete(origin);
      pool.close();
    }
  }

  async closeAll(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    for (const pool of this.#proxyPools.values()) pool.destroy();
    this.#proxyPools.clear();
    await Promise.allSettled(pools.map((p) => p.destroy()));
  }
}
