// The receiving end of test/helpers/fn-server.mjs's EVENT_COLLECTOR_URL: the function POSTs one JSON record per
// request it received on /event-sink/** (its headers included), and this server keeps, per record, the element
// id, the try number, the last-try flag and when it arrived (epoch ms, the bench's clock).
import http from 'node:http';

const epochMs = () => performance.timeOrigin + performance.now();

/** Starts the collector on 127.0.0.1:<any>; resolves to `{ url, deliveries, received, close }`. */
export async function startEventCollector() {
  /** Every delivery in arrival order: `{ id, tryNumber, lastTry, atMs, replica }`. */
  const deliveries = [];
  /** id → number of deliveries. */
  const received = new Map();
  let malformed = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const atMs = epochMs();
      try {
        const record = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const headers = record.headers ?? {};
        const id = headers['slimfaas-element-id'] ?? null;
        deliveries.push({
          id,
          tryNumber: Number(headers['slimfaas-try-number'] ?? 0),
          lastTry: headers['slimfaas-last-try'] ?? null,
          atMs,
          replica: record.replica ?? null,
        });
        received.set(id, (received.get(id) ?? 0) + 1);
      } catch {
        malformed += 1;
      }
      res.writeHead(204);
      res.end();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/collect`,
    deliveries,
    received,
    malformed: () => malformed,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
