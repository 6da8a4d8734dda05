// Example function "aggregator", which depends on "fibonacci" (SlimFaas/DependsOn).
//   GET /sum?n=10  → calls fibonacci through SlimFaas for F(0)..F(n) and returns their sum
//                    ({"n":10,"sum":143,"terms":[0,1,1,...,55],"calls":11}; the sum is F(n+2)-1).
//   GET /health    → {"status":"ok"}
// SLIMFAAS_URL (e.g. http://127.0.0.1:30020) comes from the manifest's environment.
import { sendJson, startFunction } from './lib/http-function.mjs';

const MAX_N = 50;
/** A first call may wake fibonacci from zero, so allow for its cold start. */
const CALL_TIMEOUT_MS = 60_000;

const slimfaasUrl = (process.env.SLIMFAAS_URL ?? '').replace(/\/+$/, '');
if (slimfaasUrl === '') {
  console.error(JSON.stringify({ event: 'invalid-config', setting: 'SLIMFAAS_URL', value: '' }));
  process.exit(2);
}

async function callFibonacci(input) {
  const response = await fetch(`${slimfaasUrl}/function/fibonacci/fibonacci`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input }),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`fibonacci answered ${response.status} for input ${input}: ${text}`);
  return JSON.parse(text).result;
}

async function handle(req, res, url) {
  const { pathname } = url;
  if (req.method === 'GET' && pathname === '/health') return sendJson(res, 200, { status: 'ok' });
  if (req.method === 'GET' && (pathname === '/sum' || pathname === '/sum/')) {
    const n = Number(url.searchParams.get('n') ?? '10');
    if (!Number.isInteger(n) || n < 0 || n > MAX_N) {
      return sendJson(res, 400, { error: `n must be an integer between 0 and ${MAX_N}` });
    }
    const inputs = Array.from({ length: n + 1 }, (_, i) => i);
    let terms;
    try {
      terms = await Promise.all(inputs.map(callFibonacci));
    } catch (error) {
      return sendJson(res, 502, { error: `calling fibonacci through SlimFaas failed: ${error.message}` });
    }
    const sum = terms.reduce((total, term) => total + BigInt(term), 0n);
    const exactSum = sum <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(sum) : sum.toString();
    return sendJson(res, 200, { n, sum: exactSum, terms, calls: terms.length });
  }
  return sendJson(res, 404, { error: `no route for ${req.method} ${pathname}` });
}

await startFunction({ name: 'aggregator', handle });
