import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/ports.js';

/** What a client gets when no node is ready: a complete HTTP answer, then the connection closes. */
const NOT_READY_ANSWER =
  'HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nretry-after: 1\r\ncontent-length: 9\r\nconnection: close\r\n\r\nNOT_READY';

export interface Backend {
  /** e.g. `slimfaas-1`. */
  readonly name: string;
  readonly port: number;
}

export interface TcpBalancerOptions {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** Whether a backend may take new connections now (the cluster's readiness view). */
  readonly isHealthy: (backend: Backend) => boolean;
}

/**
 * The stable entrypoint of local cluster mode (SlimFaas's `LocalTcpGateway`): each new TCP connection
 * goes, round-robin, to the next backend whose last `/ready` check passed, and bytes are piped both
 * ways unchanged (so HTTP keep-alive, streaming and WebSockets work as with one node). A connect
 * failure tries the next healthy backend; when none is left the client gets a 503 answer.
 */
export class TcpBalancer {
  readonly #options: TcpBalancerOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #backends: readonly Backend[] = [];
  #next = 0;
  #port = 0;

  private constructor(options: TcpBalancerOptions) {
    this.#options = options;
    this.#server = createServer((client) => this.#accept(client));
  }

  static async listen(options: TcpBalancerOptions): Promise<TcpBalancer> {
    const balancer = new TcpBalancer(options);
    await new Promise<void>((resolve, reject) => {
      balancer.#server.once('error', reject);
      balancer.#server.listen(options.port, options.host, () => resolve());
    });
    balancer.#port = (balancer.#server.address() as AddressInfo).port;
    return balancer;
  }

  get url(): string {
    return `http://${this.#options.host}:${this.#port}`;
  }

  setBackends(backends: readonly Backend[]): void {
    this.#backends = backends;
  }

  /** Stops accepting; open connections get `graceMs` to finish, then are cut. */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const timer = setTimeout(() => {
      for (const socket of this.#sockets) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  #accept(client: Socket): void {
    this.#track(client);
    client.on('error', () => undefined);
    const healthy = this.#backends.filter((b) => this.#options.isHealthy(b));
    const start = this.#next++;
    this.#tryBackend(client, healthy, start, 0);
  }

  #tryBackend(client: Socket, healthy: readonly Backend[], start: number, attempt: number): void {
    const backend = healthy[(start + attempt) % Math.max(1, healthy.length)];
    if (backend === undefined || attempt >= healthy.length) {
      client.end(NOT_READY_ANSWER);
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: backend.port });
    this.#track(upstream);
    upstream.setNoDelay(true);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      client.setNoDelay(true);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', (error) => {
      if (connected) client.destroy();
      else if (!client.destroyed) {
        this.#options.logger.debug(
          { err: error, node: backend.name },
          'node refused a connection; trying the next',
        );
        this.#tryBackend(client, healthy, start, attempt + 1);
      }
    });
    client.once('close', () => upstream.destroy());
    // After an orderly end the pipe has already ended the client (its pending bytes still flush).
    upstream.once('close', () => {
      if (connected && !client.writableEnded) client.destroy();
    });
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }
}
