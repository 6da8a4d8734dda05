import { H1Connection } from './h1-connection.js';
import { H1Error } from './h1-errors.js';
import {
  H1Exchange,
  type ExchangePool,
  type H1RequestOptions,
  type H1ResponseHandler,
} from './h1-exchange.js';

export interface H1PoolOptions {
  readonly connectTimeoutMs: number;
  /** An idle keep-alive socket is closed after this long (below the usual server-side 5 s). */
  readonly idleTimeoutMs: number;
  /** Idle sockets kept beyond this count are closed at once. */
  readonly maxIdle: number;
}

/**
 * The keep-alive sockets to one replica origin for the sync proxy. A request takes the most recently used
 * idle socket (warm, least likely to have been closed by the server) or opens a new one; there is no cap
 * on concurrent sockets beyond the number of requests in flight, as with the previous undici pool.
 */
export class H1Pool implements ExchangePool {
  readonly host: string;
  readonly port: number;
  /** The `Host` field sent upstream. */
  readonly authority: string;
  readonly connectTimeoutMs: number;
  readonly #options: H1PoolOptions;
  readonly #idle: H1Connection[] = [];
  readonly #all = new Set<H1Connection>();
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(origin: string, options: H1PoolOptions) {
    const url = new URL(origin);
    if (url.protocol !== 'http:') throw new Error(`the sync proxy only speaks http:, not ${url.protocol}`);
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === '' ? 80 : Number(url.port);
    this.authority = url.host;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.#options = options;
  }

  /** Sends one request; the handler hears about the answer. The returned exchange can be aborted. */
  request(options: H1RequestOptions, handler: H1ResponseHandler): H1Exchange {
    const exchange = new H1Exchange(this, options, handler);
    exchange.attach(this.acquire());
    return exchange;
  }

  /** A connection for a new exchange: the newest idle one (unless `fresh`), else a new socket. */
  acquire(fresh = false): H1Connection {
    if (this.#closed) throw new H1Error('H1_ABORTED', 'the upstream pool is closed');
    const idle = fresh ? undefined : this.#idle.pop();
    if (idle !== undefined) return idle;
    const connection = new H1Connection(this, this);
    this.#all.add(connection);
    return connection;
  }

  /** Takes back a connection whose exchange completed cleanly and may be reused. */
  release(connection: H1Connection): void {
    connection.user = undefined;
    if (this.#closed || connection.dead || this.#idle.length >= this.#options.maxIdle) {
      connection.close();
      return;
    }
    connection.idleSinceMs = performance.now();
    this.#idle.push(connection);
    if (this.#sweeper === undefined) {
      this.#sweeper = setInterval(() => this.#sweep(), Math.max(250, this.#options.idleTimeoutMs / 4));
      this.#sweeper.unref();
    }
  }

  forget(connection: H1Connection): void {
    this.#all.delete(connection);
    const at = this.#idle.indexOf(connection);
    if (at !== -1) this.#idle.splice(at, 1);
  }

  /** Closes idle sockets now; busy ones close when their exchange ends. */
  close(): void {
    this.#closed = true;
    this.#stopSweeper();
    for (const connection of [...this.#idle]) connection.close();
  }

  /** Closes every socket, aborting exchanges in flight. */
  destroy(): void {
    this.close();
    for (const connection of [...this.#all]) {
      connection.fail(new H1Error('H1_ABORTED', 'the upstream pool was closed'));
    }
  }

  #sweep(): void {
    const oldest = performance.now() - this.#options.idleTimeoutMs;
    while (this.#idle.length > 0 && (this.#idle[0] as H1Connection).idleSinceMs <= oldest) {
      (this.#idle[0] as H1Connection).close();
    }
    if (this.#idle.length === 0) this.#stopSweeper();
  }

  #stopSweeper(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}
