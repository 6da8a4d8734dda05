// The benches' target function (the same design as the proxy baselines' upstream, measured-here.md §C).
//   GET  /small, /echo, /hello   → a 62-byte JSON body
//   POST /echo (or PUT)          → counts the request body, answers {"bytes":N}
//   GET  /payload?bytes=N        → N bytes (application/octet-stream)
//   GET  /health                 → {"status":"ok"}
// Listens on 127.0.0.1:$PORT (0 = any) and logs one JSON "listening" line with startToReadyMs (time from
// this process's start) and `at` (epoch ms). When BENCH_T0 is set (epoch seconds with µs, e.g. bash's
// $EPOCHREALTIME taken by the command that then execs node: see BENCH_T0_COMMAND in bench/lib/slimfaas.mjs), it
// also logs commandStartToReadyMs: from the moment the function's command started, so exec and Node's own
// start before its clock begins count as the function's. When UPSTREAM_PORT_FILE is set, it also writes {"port","pid"} there (atomically),
// so a bench can call a replica that SlimFaas started directly.
import http from 'node:http';
import { renameSync, writeFileSync } from 'node:fs';
import { URLSearchParams } from 'node:url';

const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
const functionName = process.env.FUNCTION_NAME ?? 'upstream';

const SMALL = Buffer.from(JSON.stringify({ ok: true, service: 'bench-upstream', note: 'small response' }));
const HEALTH = Buffer.from('{"status":"ok"}');
const JSON_TYPE = 'application/json';
const payloads = new Map();

function send(res, statusCode, contentType, body) {
  res.writeHead(statusCode, { 'content-type': contentType, 'content-length': body.length });
  res.end(body);
}

function payload(bytes) {
  let body = payloads.get(bytes);
  if (!body) {
    body = Buffer.alloc(bytes, 'x');
    if (payloads.size < 16) payloads.set(bytes, body);
  }
  return body;
}

function countBody(req, res) {
  let bytes = 0;
  req.on('data', (chunk) => {
    bytes += chunk.length;
  });
  req.on('end', () => send(res, 200, JSON_TYPE, Buffer.from(`{"bytes":${bytes}}`)));
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const method = req.method;
  if (path === '/echo' && (method === 'POST' || method === 'PUT')) return countBody(req, res);
  if (method !== 'GET' && method !== 'HEAD')
    return send(res, 405, JSON_TYPE, Buffer.from('{"error":"method"}'));
  if (path === '/small' || path === '/echo' || path === '/hello') return send(res, 200, JSON_TYPE, SMALL);
  if (path === '/health') return send(res, 200, JSON_TYPE, HEALTH);
  if (path === '/payload') {
    const bytes = Number(new URLSearchParams(url.slice(queryAt + 1)).get('bytes'));
    if (queryAt === -1 || !Number.isInteger(bytes) || bytes < 0 || bytes > MAX_PAYLOAD_BYTES) {
      return send(res, 400, JSON_TYPE, Buffer.from(`{"error":"bytes must be 0..${MAX_PAYLOAD_BYTES}"}`));
    }
    return send(res, 200, 'application/octet-stream', payload(bytes));
  }
  return send(res, 404, JSON_TYPE, Buffer.from('{"error":"not found"}'));
});
// Longer than any client pool's idle timeout, so the server never closes a socket a client is about to reuse.
server.keepAliveTimeout = 65_000;

const commandStartS = Number(process.env.BENCH_T0);

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const nowMs = performance.now();
  const startToReadyMs = Math.round(nowMs * 100) / 100;
  const commandStartToReadyMs =
    commandStartS > 0
      ? Math.round((performance.timeOrigin + nowMs - commandStartS * 1000) * 100) / 100
      : undefined;
  const { port } = server.address();
  const portFile = process.env.UPSTREAM_PORT_FILE;
  if (portFile) {
    writeFileSync(`${portFile}.tmp`, JSON.stringify({ port, pid: process.pid }));
    renameSync(`${portFile}.tmp`, portFile);
  }
  // `at` (epoch ms) lets the cold-start bench place this moment on SlimFaas's log timeline.
  console.log(
    JSON.stringify({
      event: 'listening',
      function: functionName,
      port,
      startToReadyMs,
      commandStartToReadyMs,
      // The same moment as a wall clock with µs (performance.timeOrigin + performance.now()).
      readyAtMs: Math.round((performance.timeOrigin + nowMs) * 1000) / 1000,
      at: Date.now(),
    }),
  );
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
