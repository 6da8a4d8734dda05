// Example job "fibonacci-batch": computes F(n) for each argument through the fibonacci function and prints
// one JSON line per result, then exits 0 (a failed call exits 1, and SlimFaas retries per backoffLimit).
//   curl -X POST http://127.0.0.1:30020/job/fibonacci-batch -d '{"Args":["10","20"]}'
//   curl http://127.0.0.1:30020/job/fibonacci-batch      # queued and running runs
// SLIMFAAS_URL is SlimFaas's internal URL (a job is an internal caller); SLIMFAAS_JOB_RUN_NAME names this run.
const slimfaasUrl = (process.env.SLIMFAAS_URL ?? '').replace(/\/+$/, '');
const inputs = process.argv.slice(2).map(Number);
if (slimfaasUrl === '' || inputs.some((n) => !Number.isInteger(n) || n < 0 || n > 50)) {
  console.error(JSON.stringify({ event: 'invalid-input', args: process.argv.slice(2) }));
  process.exit(2);
}
for (const input of inputs) {
  const response = await fetch(`${slimfaasUrl}/function/fibonacci/fibonacci`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input }),
    signal: AbortSignal.timeout(60_000),
  });
  if (!response.ok) {
    console.error(JSON.stringify({ event: 'call-failed', input, status: response.status }));
    process.exit(1);
  }
  const { result } = await response.json();
  console.log(JSON.stringify({ run: process.env.SLIMFAAS_JOB_RUN_NAME, input, result }));
}
