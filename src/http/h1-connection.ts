import { connect, type Socket } from 'node:net';
import { H1Error } from './h1-errors.js';

/** What a connection tells the exchange it currently carries. */
export interface ConnectionUser {
  /** The socket is connected (called at once for a socket that already was). */
  start(): void;
  onSocketData(chunk: Buffer): void;
  onSocketDrain(): void;
  /** The socket died while carrying this exchange; it is already destroyed and forgotten. */
  onConnectionFailed(error: H1Error): void;
}

export interface ConnectionOwner {
  forget(connection: H1Connection): void;
}

export interface ConnectionTarget {
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
}

/**
 * One upstream socket. It carries one exchange at a time (no pipelining); between exchanges it sits in
 * its pool's idle list. Its listeners are set once, not per request.
 */
export class H1Connection {
  readonly socket: Socket;
  readonly #owner: ConnectionOwner;
  user: ConnectionUser | undefined;
  /** Exchanges started on this socket (more than one = a reused keep-alive socket). */
  uses = 0;
  idleSinceMs = 0;
  connected = false;
  #dead = false;

  constructor(owner: ConnectionOwner, target: ConnectionTarget) {
    this.#owner = owner;
    const { host, port } = target;
    this.socket = connect({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 });
    this.socket.setTimeout(target.connectTimeoutMs);
    this.socket.on('connect', () => {
      this.connected = true;
      this.socket.setTimeout(0);
      this.user?.start();
    });
    this.socket.on('timeout', () => {
      this.fail(new H1Error('H1_CONNECT_TIMEOUT', `connecting to ${host}:${port} timed out`));
    });
    this.socket.on('data', (chunk: Buffer) => {
      if (this.user === undefined) this.fail(new H1Error('H1_SOCKET', 'unexpected data on an idle socket'));
      else this.user.onSocketData(chunk);
    });
    this.socket.on('drain', () => this.user?.onSocketDrain());
    this.socket.on('error', (error) => this.fail(new H1Error('H1_SOCKET', error.message, { cause: error })));
    // 'end' (the server closed its side) comes before 'close': the exchange learns H1_CLOSED first.
    this.socket.on('end', () => this.fail(new H1Error('H1_CLOSED', 'the replica closed the connection')));
    this.socket.on('close', () => this.fail(new H1Error('H1_CLOSED', 'the replica closed the connection')));
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** The socket is unusable: the current exchange (if any) learns why; the pool forgets the socket. */
  fail(error: H1Error): void {
    if (this.#dead) return;
    this.#dead = true;
    this.socket.destroy();
    this.#owner.forget(this);
    const user = this.user;
    this.user = undefined;
    user?.onConnectionFailed(error);
  }

  /** Closes the socket without telling anyone (its exchange is over or was aborted). */
  close(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.user = undefined;
    this.socket.destroy();
    this.#owner.forget(this);
  }
}
