// Runs wrk and returns its numbers. A generated Lua script sets the request (method, body) and prints one
// machine-readable line from done(), with the percentiles wrk's own --latency output lacks (p95).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Exits with the install command when wrk is missing. */
export function requireWrk() {
  const found = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' });
  if (found.status !== 0) {
    console.error('wrk is not installed. Install it with:\n  apt-get install -y wrk');
    process.exit(1);
  }
  const banner = spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout;
  return /wrk\s+(\S+)/.exec(banner)?.[0] ?? 'wrk';
}

const DONE_FUNCTION = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"bytes":%d,"connectErrors":%d,"readErrors":%d,' ..
    '"writeErrors":%d,"statusErrors":%d,"timeouts":%d,"p50Us":%.1f,"p95Us":%.1f,"p99Us":%.1f,' ..
    '"meanUs":%.1f,"maxUs":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max))
end
`;

/** Writes a wrk Lua script for `method` with a body of `bodyBytes` bytes; returns its path. */
export function writeWrkScript(dir, { method, bodyBytes = 0 }) {
  const lines = [`wrk.method = "${method}"`];
  if (bodyBytes > 0) {
    lines.push(`wrk.body = string.rep("x", ${bodyBytes})`);
    lines.push('wrk.headers["Content-Type"] = "application/octet-stream"');
  }
  const path = join(dir, `wrk-${method.toLowerCase()}-${bodyBytes}.lua`);
  writeFileSync(path, `${lines.join('\n')}\n${DONE_FUNCTION}`);
  return path;
}

/**
 * One wrk run. Uses one thread for one connection and two otherwise (the box has 2 vCPUs; wrk refuses more
 * threads than connections). Returns requests/s, latency percentiles in ms and error counts.
 */
export async function runWrk(processes, { url, connections, durationSeconds, script, timeoutSeconds = 10 }) {
  const threads = Math.min(connections, 2);
  const args = [
    `-t${threads}`,
    `-c${connections}`,
    `-d${durationSeconds}s`,
    `--timeout`,
    `${timeoutSeconds}s`,
    '-s',
    script,
    url,
  ];
  const output = [];
  const { exited } = processes.start('wrk', 'wrk', args, { onLine: (line) => output.push(line) });
  const { code, error } = await exited;
  const line = output.find((l) => l.startsWith('WRK_JSON '));
  if (code !== 0 || !line) {
    throw new Error(
      `wrk ${args.join(' ')} failed (exit ${code}${error ? `, ${error.message}` : ''}):\n${output.join('\n')}`,
    );
  }
  const raw = JSON.parse(line.slice('WRK_JSON '.length));
  const seconds = raw.durationUs / 1e6;
  return {
    requests: raw.requests,
    requestsPerSecond: raw.requests / seconds,
    megabytesPerSecond: raw.bytes / seconds / 1e6,
    latencyMs: {
      p50: raw.p50Us / 1000,
      p95: raw.p95Us / 1000,
      p99: raw.p99Us / 1000,
      mean: raw.meanUs / 1000,
      max: raw.maxUs / 1000,
    },
    errors: {
      connect: raw.connectErrors,
      read: raw.readErrors,
      write: raw.writeErrors,
      status: raw.statusErrors,
      timeout: raw.timeouts,
    },
  };
}
