// A scripted function process for tests: `PORT=5000 node test/helpers/fn-server.mjs [args...]`.
// Behaviour is set by environment variables so a test can describe a misbehaving function in its
// manifest, the way SlimFaas's local mode would start a real one:
//   START_DELAY_MS        wait this long before listening (a slow cold start)
//   HEALTH_STATUS         status of GET /health (default 200)
//   HEALTH_FAIL_AFTER_MS  /health answers 503 once this long has passed since listening
//   CRASH_AFTER_MS        exit(1) this long after listening
//   EXIT_ON_SIGTERM       "ignore" ignores SIGTERM (to test SIGKILL escalation); otherwise exit(0)
//   FAIL_FIRST_N          the first N requests to /event-sink/** answer 500 (to test publish retries)
//   EVENT_COLLECTOR_URL   each request to /event-sink/** is also POSTed (as JSON) to this URL
//   TEST_FUNCTION         the function name reported in event records
//   SINK_DELAY_MS         /event-sink/** answers this long after recording the request (slow deliveries)
// Routes: GET /health, ANY /echo/**, /delay?ms=N, /status/NNN, /redirect, /big?bytes=N, /hang,
// /reset, /pid, /env (PORT, SLIMFAAS_*, TEST_* variables and argv), /log?stream=stderr&text=...,
// ANY /event-sink/** (records the request: see FAIL_FIRST_N, EVENT_COLLECTOR_URL), GET /events-received
// (the records), /call-slimfaas?path=P&method=M (calls $SLIMFAAS_URL + P, answers {status, body}).
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? '0');
const startDelayMs = Number(process.env.START_DELAY_MS ?? '0');
const healthStatus = Number(process.env.HEALTH_STATUS ?? '200');
const healthFailAfterMs = process.env.HEALTH_FAIL_AFTER_MS
  ? Number(process.env.HEALTH_FAIL_AFTER_MS)
  : undefined;
const crashAfterMs = process.env.CRASH_AFTER_MS ? Number(process.env.CRASH_AFTER_MS) : undefined;
let listeningAt = 0;
const failFirstN = Number(process.env.FAIL_FIRST_N ?? '0');
const eventRecords = [];
let eventAttempts = 0;

process.on('SIGTERM', () => {
  if (process.env.EXIT_ON_SIGTERM === 'ignore') {
    console.log(JSON.stringify({ event: 'sigterm-ignored', pid: process.pid }));
    return;
  }
  process.exit(0);
});

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function status(res, code) {
  // 204 and 304 never carry a body (RFC 9110 §15.3.5, §15.4.5).
  if (code === 204 || code === 304) {
    res.writeHead(code);
    return res.end();
  }
  json(res, code, { status: code });
}

function health(res) {
  const failing = healthFailAfterMs !== undefined && performance.now() - listeningAt >= healthFailAfterMs;
  json(res, failing ? 503 : healthStatus, { status: failing ? 'failing' : 'ok' });
}

function echo(req, res, url) {
  let bodyLength = 0;
  req.on('data', (chunk) => (bodyLength += chunk.length));
  req.on('end', () =>
    json(res, 200, {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      bodyLength,
      replica: process.env.SLIMFAAS_REPLICA_INDEX ?? null,
      pid: process.pid,
    }),
  );
}

function big(res, bytes) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
  const chunk = Buffer.alloc(64 * 1024, 120);
  let left = bytes;
  const pump = () => {
    while (left > 0) {
      const size = Math.min(left, chunk.length);
      left -= size;
      if (!res.write(size === chunk.length ? chunk : chunk.subarray(0, size))) return res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

function environment() {
  const picked = Object.entries(process.env).filter(
    ([key]) => key === 'PORT' || key.startsWith('SLIMFAAS_') || key.startsWith('TEST_'),
  );
  return { env: Object.fromEntries(picked), argv: process.argv.slice(2), cwd: process.cwd() };
}

function eventSink(req, res, url) {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    eventAttempts++;
    const record = {
      function: process.env.TEST_FUNCTION ?? null,
      replica: process.env.SLIMFAAS_REPLICA_INDEX ?? null,
      attempt: eventAttempts,
      failed: eventAttempts <= failFirstN,
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    eventRecords.push(record);
    if (process.env.EVENT_COLLECTOR_URL) {
      await fetch(process.env.EVENT_COLLECTOR_URL, { method: 'POST', body: JSON.stringify(record) }).catch(
        () => undefined,
      );
    }
    const delayMs = Number(process.env.SINK_DELAY_MS ?? '0');
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (record.failed) return json(res, 500, { failed: record.attempt });
    json(res, 200, { received: true, replica: record.replica });
  });
}

async function callSlimFaas(req, res, url) {
  const target = `${process.env.SLIMFAAS_URL ?? ''}${url.searchParams.get('path') ?? '/'}`;
  try {
    const response = await fetch(target, { method: url.searchParams.get('method') ?? 'GET' });
    json(res, 200, { status: response.status, body: await response.text() });
  } catch (error) {
    json(res, 502, { error: String(error) });
  }
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  if (path === '/health') return health(res);
  if (path === '/echo' || path.startsWith('/echo/')) return echo(req, res, url);
  if (path === '/delay') {
    const timer = setTimeout(
      () => json(res, 200, { delayedMs: Number(url.searchParams.get('ms')) }),
      Number(url.searchParams.get('ms') ?? '0'),
    );
    res.on('close', () => clearTimeout(timer));
    return;
  }
  if (path.startsWith('/status/')) return status(res, Number(path.slice('/status/'.length)));
  if (path === '/redirect') {
    res.writeHead(302, { location: '/echo/redirected', 'content-length': 0 });
    return res.end();
  }
  if (path === '/big') return big(res, Number(url.searchParams.get('bytes') ?? '0'));
  if (path === '/hang') return;
  if (path === '/reset') return req.socket.destroy();
  if (path === '/pid') return json(res, 200, { pid: process.pid });
  if (path === '/env') return json(res, 200, environment());
  if (path === '/log') {
    const stream = url.searchParams.get('stream') === 'stderr' ? process.stderr : process.stdout;
    stream.write(`${url.searchParams.get('text') ?? ''}\n`);
    return json(res, 200, { logged: true });
  }
  if (path.startsWith('/event-sink/') || path === '/event-sink') return eventSink(req, res, url);
  if (path === '/events-received') return json(res, 200, eventRecords);
  if (path === '/call-slimfaas') return void callSlimFaas(req, res, url);
  json(res, 404, { error: 'not found', path });
});

setTimeout(() => {
  server.listen(port, '127.0.0.1', () => {
    listeningAt = performance.now();
    const address = server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    console.log(
      JSON.stringify({ event: 'listening', port: actualPort, pid: process.pid, startToReadyMs: listeningAt }),
    );
    if (crashAfterMs !== undefined) setTimeout(() => process.exit(1), crashAfterMs);
  });
}, startDelayMs);
