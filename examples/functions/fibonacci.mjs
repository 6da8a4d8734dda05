// Example function "fibonacci".
//   GET  /hello/{name}                 → {"message":"Hello {name}!"}
//   POST /fibonacci  {"input": n}      → {"input": n, "result": F(n)}
//   GET  /fibonacci?n=10               → same
//   GET  /health                       → {"status":"ok"}
// F(n) beyond Number.MAX_SAFE_INTEGER is returned as a decimal string, so it stays exact.
import { readJsonBody, sendJson, startFunction } from './lib/http-function.mjs';

const MAX_INPUT = 10_000;

function fibonacci(n) {
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(a) : a.toString();
}

/** The requested n, or an error message for a 400. */
function parseInput(value) {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (!Number.isInteger(n) || n < 0 || n > MAX_INPUT) {
    return { error: `input must be an integer between 0 and ${MAX_INPUT}` };
  }
  return { n };
}

async function handle(req, res, url) {
  const { pathname } = url;
  if (req.method === 'GET' && pathname === '/health') return sendJson(res, 200, { status: 'ok' });

  const hello = /^\/hello\/([^/]+)\/?$/.exec(pathname);
  if (req.method === 'GET' && hello) {
    return sendJson(res, 200, { message: `Hello ${decodeURIComponent(hello[1])}!` });
  }

  if (pathname === '/fibonacci' || pathname === '/fibonacci/') {
    let raw;
    if (req.method === 'GET') raw = url.searchParams.get('n') ?? url.searchParams.get('input');
    else if (req.method === 'POST') {
      try {
        raw = (await readJsonBody(req))?.input;
      } catch (error) {
        return sendJson(res, 400, { error: error.message });
      }
    } else return sendJson(res, 405, { error: 'use GET or POST' });
    const input = parseInput(raw);
    if (input.error) return sendJson(res, 400, { error: input.error });
    return sendJson(res, 200, { input: input.n, result: fibonacci(input.n) });
  }

  return sendJson(res, 404, { error: `no route for ${req.method} ${pathname}` });
}

await startFunction({ name: 'fibonacci', handle });
