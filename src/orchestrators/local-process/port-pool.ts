import { createServer } from 'node:net';

/**
 * Hands out ports of the `processPorts` range to replicas.
 *
 * A port is skipped when one of our replicas holds it or when a quick bind test on 127.0.0.1 fails
 * (another program uses it). The search resumes after the last port handed out rather than at the
 * start of the range, so a port just released is not reused at once: a proxy may still hold pooled
 * keep-alive connections to the replica that had it.
 */
export class PortPool {
  readonly #from: number;
  readonly #to: number;
  readonly #held = new Set<number>();
  #next: number;

  constructor(range: { from: number; to: number }) {
    if (!Number.isInteger(range.from) || !Number.isInteger(range.to) || range.from < 1 || range.to > 65535) {
      throw new RangeError(`invalid processPorts range ${range.from}..${range.to}`);
    }
    if (range.from > range.to) throw new RangeError(`processPorts.from ${range.from} > to ${range.to}`);
    this.#from = range.from;
    this.#to = range.to;
    this.#next = range.from;
  }

  /** A free port, now held by the caller until `release`; `undefined` when the range is exhausted. */
  async acquire(): Promise<number | undefined> {
    const size = this.#to - this.#from + 1;
    for (let tried = 0; tried < size; tried++) {
      const port = this.#next;
      this.#next = port === this.#to ? this.#from : port + 1;
      if (this.#held.has(port)) continue;
      // Held before the await so that concurrent acquisitions never test the same port.
      this.#held.add(port);
      if (await canBind(port)) return port;
      this.#held.delete(port);
    }
    return undefined;
  }

  release(port: number): void {
    this.#held.delete(port);
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}
