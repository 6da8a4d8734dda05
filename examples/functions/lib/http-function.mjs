// The few lines every example function shares: listen on 127.0.0.1:$PORT, log one JSON "listening" line,
// answer JSON, and stop cleanly on SIGTERM (SlimFaas scales a function down by sending SIGTERM).
import http from 'node:http';

/** Largest request body an example accepts; they only ever take small JSON. */
const MAX_BODY_BYTES = 64 * 1024;
/** After SIGTERM, connections still busy get this long before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 5000;

export function sendJson(res, statusCode, body) {
  const text = JSON.stringify(body);
  res.writeHead(statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Resolves to the parsed JSON body, `undefined` for an empty body; rejects on invalid or oversized JSON. */
export function readJsonBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(new Error('body is not valid JSON', { cause: error }));
      }
    });
  });
}

/**
 * Starts the function's HTTP server. `handle(req, res, url)` answers a request; a thrown error becomes a 500.
 * Resolves once listening, to `{ server, port, startToReadyMs }`.
 */
export async function startFunction({ name, handle }) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://function.local');
    Promise.resolve()
      .then(() => handle(req, res, url))
      .catch((error) => {
        console.error(JSON.stringify({ event: 'error', function: name, message: String(error?.message) }));
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.destroy();
      });
  });
  const port = Number(process.env.PORT ?? 0);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  // performance.now() counts from this process's start, so this is the function's own cold-start time.
  const startToReadyMs = Math.round(performance.now() * 100) / 100;
  const actualPort = server.address().port;
  console.log(JSON.stringify({ event: 'listening', function: name, port: actualPort, startToReadyMs }));

  const stop = (signal) => {
    console.log(JSON.stringify({ event: 'stopping', function: name, signal }));
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return { server, port: actualPort, startToReadyMs };
}
