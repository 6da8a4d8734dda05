import { connect } from 'node:net';

/**
 * What one readiness probe found: `refused` (nothing accepts on the port yet, or the connect timed out),
 * `unhealthy` (the port accepts but the health path did not answer 2xx in time), `ok`.
 */
export type ProbeResult = 'ok' | 'unhealthy' | 'refused';

/** A status line longer than this (no CRLF yet) is not HTTP: the probe fails. */
const MAX_STATUS_LINE_BYTES = 1024;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: |\r?$)/;

/**
 * One readiness probe of a local replica: `GET http://127.0.0.1:<port><path>` answering 2xx, or a
 * TCP connect when there is no path. Never rejects.
 *
 * Why a raw socket rather than an HTTP client: a starting replica is probed every few milliseconds, and
 * the same connect that finds the port open carries the request at once (no second connect, no client
 * objects). Only the status line is read (as a kubelet httpGet probe, `Connection: close`, a fresh
 * connection per probe so that it sees the process as it is now); the rest of the answer is discarded.
 */
export function probeReplica(options: {
  port: number;
  path: string | undefined;
  timeoutMs: number;
  /**
   * After a 2xx, keep the connection open this long before closing it (the request is then sent without
   * `Connection: close`). For the probe that finds a starting replica ready: the replica's first connection
   * close (lazily compiled in a fresh process) then happens after the held requests it releases, not during.
   */
  lingerAfterOkMs?: number;
}): Promise<ProbeResult> {
  const { port, path, timeoutMs, lingerAfterOkMs = 0 } = options;
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let connected = false;
    let received = '';
    const timer = setTimeout(() => finish(connected ? 'unhealthy' : 'refused'), timeoutMs);
    function finish(result: ProbeResult): void {
      clearTimeout(timer);
      if (result === 'ok' && lingerAfterOkMs > 0 && path !== undefined) {
        socket
          .removeAllListeners('data')
          .removeAllListeners('end')
          .on('error', () => undefined);
        socket.resume();
        setTimeout(() => socket.destroy(), lingerAfterOkMs).unref();
      } else {
        socket.destroy();
      }
      resolve(result);
    }
    socket.once('connect', () => {
      connected = true;
      if (path === undefined) return finish('ok');
      socket.setNoDelay(true);
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: slimfaas-probe\r\nAccept: */*\r\n` +
          (lingerAfterOkMs > 0 ? '\r\n' : 'Connection: close\r\n\r\n'),
      );
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\n');
      if (end === -1) {
        if (received.length > MAX_STATUS_LINE_BYTES) finish('unhealthy');
        return;
      }
      const status = Number(STATUS_LINE.exec(received.slice(0, end))?.[1] ?? 0);
      finish(status >= 200 && status < 300 ? 'ok' : 'unhealthy');
    });
    socket.once('end', () => finish('unhealthy'));
    socket.once('error', () => finish(connected ? 'unhealthy' : 'refused'));
  });
}
