import { Pool } from 'undici';

/**
 * One keep-alive connection pool per replica origin, created on first use and closed when the replica
 * leaves the topology. Pools are the only place upstream sockets live.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

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

  /** Closes pools whose origin is not in `live` (in-flight requests on them finish first). */
  retain(live: ReadonlySet<string>): void {
    for (const [origin, pool] of this.#pools) {
      if (live.has(origin)) continue;
      this.#pools.delete(origin);
      void pool.close().catch(() => undefined);
    }
  }

  async closeAll(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((p) => p.destroy()));
  }
}
