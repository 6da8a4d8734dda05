import type { NatsConnection, Status } from '@nats-io/transport-node';

/**
 * Whether the NATS connection is up, from the client's status events. While it is down (after `disconnect`,
 * `reconnecting` or `staleConnection`, until `reconnect`) a request would only be buffered by the client until
 * its timeout, so the store refuses new operations at once with `downReason` instead (a fast 503). `close` is
 * final. A server that stops answering without closing the socket is only seen once the client's pings go
 * unanswered (its `pingInterval` × `maxPingOut`).
 */
export class NatsLink {
  #downReason: string | undefined;
  #server = '';

  constructor(nc: NatsConnection) {
    void this.#follow(nc);
  }

  /** Why the connection is down, or undefined while it is up. */
  get downReason(): string | undefined {
    return this.#downReason;
  }

  #apply(status: Status): void {
    switch (status.type) {
      case 'disconnect':
        this.#server = status.server;
        this.#downReason = `connection to NATS ${status.server} lost, reconnecting`;
        return;
      case 'reconnecting':
      case 'staleConnection':
        this.#downReason ??= `connection to NATS ${this.#server || 'server'} lost, reconnecting`;
        return;
      case 'reconnect':
        this.#server = status.server;
        this.#downReason = undefined;
        return;
      case 'close':
        this.#downReason = 'the NATS connection is closed';
        return;
      default:
        return;
    }
  }

  async #follow(nc: NatsConnection): Promise<void> {
    try {
      for await (const status of nc.status()) this.#apply(status);
    } catch {
      // The iterator ends with the connection; `closed` below records it.
    }
    this.#downReason = 'the NATS connection is closed';
  }
}
