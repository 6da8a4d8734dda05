// The async bench's function, started by SlimFaas from the bench's manifest. It records when each delivery
// arrives (epoch ms with sub-millisecond precision, the same clock as the bench's) and how many deliveries
// are in flight at once.
//   GET  /health             → {"status":"ok"}
//   GET  /__bench/stats      → {"received":N,"inFlight":N,"maxInFlight":N}
//   GET  /__bench/receipts   → [{"id","atMs","tryNumber"}] (SlimFaas-Element-Id, arrival time, SlimFaas-Try-Number)
//   POST /__bench/reset      → clears the counters and receipts
//   anything else            → a delivery: the body is read, then 200 (after ?delayMs=N milliseconds)
// Listens on 127.0.0.1:$PORT (0 = any); writes {"port","pid"} to $UPSTREAM_PORT_FILE when set.
import http from 'node:http';
import { renameSync, writeFileSync } from 'node:fs';

const now = () => performance.timeOrigin + performance.now();
let receipts = [];
let inFlight = 0;
let maxInFlight = 0;

function json(res, status, value) {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

function deliver(req, res, url) {
  const atMs = now();
  inFlight += 1;
  maxInFlight = Math.max(maxInFlight, inFlight);
  receipts.push({
    id: req.headers['slimfaas-element-id'] ?? null,
    atMs,
    tryNumber: Number(req.headers['slimfaas-try-number'] ?? 0),
  });
  const delayMs = Number(new URL(url, 'http://x').searchParams.get('delayMs') ?? 0);
  req.resume();
  req.on('end', () => {
    const answer = () => {
      inFlight -= 1;
      json(res, 200, { ok: true });
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/health') return json(res, 200, { status: 'ok' });
  if (url === '/__bench/stats') return json(res, 200, { received: receipts.length, inFlight, maxInFlight });
  if (url === '/__bench/receipts') return json(res, 200, receipts);
  if (url === '/__bench/reset' && req.method === 'POST') {
    receipts = [];
    maxInFlight = inFlight;
    return json(res, 200, { ok: true });
  }
  return deliver(req, res, url);
});
server.keepAliveTimeout = 65_000;

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  const portFile = process.env.UPSTREAM_PORT_FILE;
  if (portFile) {
    writeFileSync(`${portFile}.tmp`, JSON.stringify({ port, pid: process.pid }));
    renameSync(`${portFile}.tmp`, portFile);
  }
  console.log(
    JSON.stringify({ event: 'listening', function: process.env.FUNCTION_NAME, port, at: Date.now() }),
  );
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
