// Example function "slow-start": waits SLOW_START_MS (default 3000) before it listens, to show a cold start.
// The first call after scale-to-zero is held by SlimFaas until this process answers its health check.
//   GET /hello, GET /hello/{name}  → {"message": "...", "slowStartMs": ..., "startToReadyMs": ...}
//   GET /health                    → {"status":"ok"}
import { setTimeout as sleep } from 'node:timers/promises';
import { sendJson, startFunction } from './lib/http-function.mjs';

const rawDelay = process.env.SLOW_START_MS ?? '3000';
const slowStartMs = Number(rawDelay);
if (!Number.isFinite(slowStartMs) || slowStartMs < 0) {
  console.error(JSON.stringify({ event: 'invalid-config', setting: 'SLOW_START_MS', value: rawDelay }));
  process.exit(2);
}

// A SIGTERM during the sleep must still stop the process (it is scaled down before it ever listened).
const stopEarly = () => process.exit(0);
process.once('SIGTERM', stopEarly);
await sleep(slowStartMs);
process.off('SIGTERM', stopEarly);

let startToReadyMs;

function handle(req, res, url) {
  const { pathname } = url;
  if (req.method === 'GET' && pathname === '/health') return sendJson(res, 200, { status: 'ok' });
  const hello = /^\/hello(?:\/([^/]+))?\/?$/.exec(pathname);
  if (req.method === 'GET' && hello) {
    const who = hello[1] ? decodeURIComponent(hello[1]) : 'world';
    return sendJson(res, 200, { message: `Hello ${who}, after a slow start!`, slowStartMs, startToReadyMs });
  }
  return sendJson(res, 404, { error: `no route for ${req.method} ${pathname}` });
}

({ startToReadyMs } = await startFunction({ name: 'slow-start', handle }));
