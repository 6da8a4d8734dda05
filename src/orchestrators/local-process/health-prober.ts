import { request } from 'node:http';
import { connect } from 'node:net';

/**
 * One readiness probe of a local replica: `GET http://127.0.0.1:<port><path>` answering 2xx, or a
 * TCP connect when there is no path. Never rejects; any error or a timeout counts as a failure.
 */
export function probeReplica(options: {
  port: number;
  path: string | undefined;
  timeoutMs: number;
}): Promise<boolean> {
  return options.path === undefined
    ? probeTcp(options.port, options.timeoutMs)
    : probeHttp(options.port, options.path, options.timeoutMs);
}

function probeHttp(port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    // agent: false → a fresh connection per probe: a probe must see the process as it is now.
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      finish(status >= 200 && status < 300);
    });
    const timer = setTimeout(() => finish(false), timeoutMs);
    function finish(ok: boolean): void {
      clearTimeout(timer);
      req.destroy();
      resolve(ok);
    }
    req.on('error', () => finish(false));
    req.end();
  });
}

function probeTcp(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => finish(false), timeoutMs);
    function finish(ok: boolean): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    }
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}
