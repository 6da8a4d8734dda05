import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeObject } from './fake-kube-store.js';

/** How the simulated kubelet treats the pods of one workload. */
export interface PodBehaviour {
  /** Delay between the pod being created (Pending, with an IP) and it turning Ready. */
  readonly readyDelayMs?: number;
  /** The pod runs (its server answers) but its readiness probe never passes. */
  readonly neverReady?: boolean;
  /** The scheduler cannot place the pod: `PodScheduled=False`, reason Unschedulable, no IP. */
  readonly unschedulable?: boolean;
}

/** A request a pod's server received (other than `/health`), as its container would see it. */
export interface PodRequest {
  readonly pod: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A REAL HTTP server standing in for a pod's container on 127.0.0.1 (own port). `/health` answers
 * 200; any other request is passed to `onRequest` and answered with JSON naming the pod, method,
 * URL and the body length — except paths starting with `/hang`, which are recorded and never
 * answered (a request in flight when the pod is deleted).
 */
export async function startPodServer(
  podName: string,
  onRequest: (request: PodRequest) => void = () => undefined,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      onRequest({ pod: podName, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url?.startsWith('/hang') === true) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pod: podName, method: req.method, url: req.url, bodyBytes: bytes }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}

export async function stopPodServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A pod as a ReplicaSet or StatefulSet controller would create it from the workload's template. */
export function podObject(options: {
  name: string;
  namespace: string;
  workload: KubeObject;
  owner: { kind: string; name: string; uid: string };
  port: number | undefined;
  unschedulable: boolean;
}): KubeObject {
  const template = (options.workload.spec?.['template'] ?? {}) as {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  };
  const scheduled = options.unschedulable
    ? {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: '0/1 nodes are available: 1 Insufficient cpu.',
      }
    : { type: 'PodScheduled', status: 'True' };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name,
      namespace: options.namespace,
      labels: { ...template.metadata?.labels },
      annotations: { ...template.metadata?.annotations },
      ownerReferences: [{ apiVersion: 'apps/v1', controller: true, ...options.owner }],
    },
    spec: {
      containers: [
        {
          name: 'function',
          image: 'example/function:latest',
          ports:
            options.port === undefined
              ? []
              : [{ name: 'http', containerPort: options.port, protocol: 'TCP' }],
        },
      ],
    },
    status: {
      phase: 'Pending',
      ...(options.unschedulable ? {} : { podIP: '127.0.0.1', hostIP: '127.0.0.1' }),
      conditions: options.unschedulable
        ? [scheduled]
        : [
            scheduled,
            { type: 'Initialized', status: 'True' },
            { type: 'ContainersReady', status: 'False' },
            { type: 'Ready', status: 'False' },
          ],
      containerStatuses: options.unschedulable
        ? []
        : [{ name: 'function', ready: false, started: true, restartCount: 0, state: { running: {} } }],
    },
  };
}

/** The same pod after its readiness probe passed. */
export function readyPod(pod: KubeObject): KubeObject {
  const status = pod.status ?? {};
  const conditions = (status['conditions'] as { type: string; status: string }[] | undefined) ?? [];
  const statuses = (status['containerStatuses'] as Record<string, unknown>[] | undefined) ?? [];
  return {
    ...pod,
    status: {
      ...status,
      phase: 'Running',
      conditions: conditions.map((c) =>
        c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'True' } : c,
      ),
      containerStatuses: statuses.map((s) => ({ ...s, ready: true })),
    },
  };
}
