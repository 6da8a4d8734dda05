import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** `nats://127.0.0.1:<port>`-style address of the proxy: `host:port`. */
  readonly port: number;
  /** A network cut: closes every connection and stops listening, so reconnects are refused. */
  cut(): Promise<void>;
  /** Listens again on the same port (the cut heals). */
  heal(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP relay on 127.0.0.1 to `targetPort`, for cutting one client off a server (a partition) while the
 * server and the other clients stay up.
 */
export async function startTcpProxy(targetPort: number, port = 0): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = (onPort: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(onPort, '127.0.0.1', () => {
        server = s;
        const address = s.address();
        resolve(typeof address === 'object' && address !== null ? address.port : onPort);
      });
    });
  const boundPort = await listen(port);
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  return {
    port: boundPort,
    cut,
    heal: async () => {
      if (server === undefined) await listen(boundPort);
    },
    close: cut,
  };
}
