/**
 * Which cluster nodes answer `GET /ready` with 200, re-checked every `intervalMs` (each check bounded
 * by `timeoutMs`). The balancers read `isHealthy`; a node that stops answering is skipped until it
 * answers again.
 */
export class NodeHealth {
  readonly #ports: ReadonlyMap<string, number>;
  readonly #healthy = new Set<string>();
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: { nodes: readonly { name: string; port: number }[]; intervalMs: number }) {
    this.#ports = new Map(options.nodes.map((n) => [n.name, n.port]));
    this.#intervalMs = options.intervalMs;
  }

  start(): void {
    void this.#tick();
  }

  isHealthy(name: string): boolean {
    return this.#healthy.has(name);
  }

  get healthyCount(): number {
    return this.#healthy.size;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  async #tick(): Promise<void> {
    await Promise.all([...this.#ports].map(([name, port]) => this.#check(name, port)));
    if (!this.#closed) this.#timer = setTimeout(() => void this.#tick(), this.#intervalMs);
  }

  async #check(name: string, port: number): Promise<void> {
    let ok: boolean;
    try {
      const response = await fetch(`http://127.0.0.1:${port}/ready`, {
        signal: AbortSignal.timeout(Math.max(1000, this.#intervalMs)),
      });
      await response.body?.cancel();
      ok = response.status === 200;
    } catch {
      ok = false;
    }
    if (ok) this.#healthy.add(name);
    else this.#healthy.delete(name);
  }
}
