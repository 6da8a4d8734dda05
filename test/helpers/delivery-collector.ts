import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a function received, as fn-server.mjs reports each /event-sink request to EVENT_COLLECTOR_URL. */
export interface Delivery {
  function: string | null;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}

/** A server in the test process that collects the deliveries functions report. */
export async function startCollector(): Promise<{ url: string; deliveries: Delivery[]; server: Server }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      deliveries.push(JSON.parse(body) as Delivery);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, deliveries, server };
}
