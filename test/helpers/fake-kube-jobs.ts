import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeKubeStore, KubeObject } from './fake-kube-store.js';

/** What a client sends: a Job without the fields the server stamps. */
interface JobBody {
  metadata?: Partial<KubeObject['metadata']> & { generateName?: string };
  spec?: Record<string, unknown>;
}

type Reply = (code: number, reason: string, message: string) => number;

/**
 * `POST apis/batch/v1/namespaces/{ns}/jobs`, as the API server answers it: 201 with the stored Job
 * (uid, resourceVersion, creationTimestamp, `generateName` expanded), 409 AlreadyExists for a taken
 * name, 400 for another namespace in the body, 422 without a name or a pod template. The Job
 * controller (fake-kube-job-controller.ts) then runs it. Like the API server's defaulting, a Job
 * without labels takes its pod template's labels.
 */
export async function createJob(
  store: FakeKubeStore,
  options: { namespace: string; req: IncomingMessage; res: ServerResponse; reply: Reply },
): Promise<number> {
  const { namespace, req, res, reply } = options;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let body: JobBody;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JobBody;
  } catch {
    return reply(400, 'BadRequest', 'the request body is not JSON');
  }
  const metadata = body.metadata ?? {};
  if (metadata.namespace !== undefined && metadata.namespace !== namespace) {
    return reply(400, 'BadRequest', 'the namespace of the provided object does not match the request');
  }
  const name = metadata.name ?? (metadata.generateName === undefined ? undefined : generated(metadata));
  if (name === undefined || name === '') return reply(422, 'Invalid', 'metadata.name: Required value');
  if (typeof body.spec?.['template'] !== 'object') {
    return reply(422, 'Invalid', 'spec.template: Required value');
  }
  if (store.get('jobs', name) !== undefined) {
    return reply(409, 'AlreadyExists', `jobs.batch "${name}" already exists`);
  }
  const template = body.spec['template'] as { metadata?: { labels?: Record<string, string> } };
  const labels =
    metadata.labels === undefined || Object.keys(metadata.labels).length === 0
      ? template.metadata?.labels
      : metadata.labels;
  const stored = store.put('jobs', {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { ...metadata, name, namespace, ...(labels === undefined ? {} : { labels }) },
    spec: { backoffLimit: 6, completions: 1, parallelism: 1, ...body.spec },
    status: {},
  });
  res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(stored));
  return 201;
}

/**
 * `DELETE apis/batch/v1/namespaces/{ns}/jobs/{name}`: the Job is gone at once (no finalizers in the
 * fake), so the answer is a Status `Success` naming it, as the API server sends; 404 when absent.
 * `onDeleted` gets the Job and the `propagationPolicy` (query parameter, or DeleteOptions body).
 */
export async function deleteJob(
  store: FakeKubeStore,
  options: {
    name: string;
    query: URLSearchParams;
    req: IncomingMessage;
    res: ServerResponse;
    reply: Reply;
    onDeleted: (job: KubeObject, propagationPolicy: string | undefined) => void;
  },
): Promise<number> {
  const { name, req, res, reply } = options;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let policy = options.query.get('propagationPolicy') ?? undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  if (policy === undefined && text !== '') {
    try {
      policy = (JSON.parse(text) as { propagationPolicy?: string }).propagationPolicy;
    } catch {
      return reply(400, 'BadRequest', 'the DeleteOptions body is not JSON');
    }
  }
  const deleted = store.delete('jobs', name);
  if (deleted === undefined) return reply(404, 'NotFound', `jobs.batch "${name}" not found`);
  options.onDeleted(deleted, policy);
  const status = {
    apiVersion: 'v1',
    kind: 'Status',
    metadata: {},
    status: 'Success',
    details: { name, group: 'batch', kind: 'jobs', uid: deleted.metadata.uid },
  };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status));
  return 200;
}

function generated(metadata: { generateName?: string }): string {
  return `${metadata.generateName ?? ''}${Math.random().toString(36).slice(2, 7)}`;
}
