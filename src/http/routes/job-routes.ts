import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../core/clock.js';
import { nextOccurrenceMs } from '../../core/job-cron.js';
import type { JobBoard, JobRunView, JobScheduleBook } from '../../core/job-ports.js';
import { resolveJobRequest } from '../../core/job-request.js';
import {
  parseCreateJob,
  parseScheduleCreateJob,
  requestToJson,
  resourcesToJson,
} from '../../core/job-schema.js';
import {
  JOB_NAME_PATTERN,
  JOB_NAME_RULE,
  newJobRunName,
  type JobConfiguration,
  type JobSchedule,
} from '../../core/job-spec.js';
import type { Logger } from '../../core/ports.js';
import { isStoreUnavailable } from '../../core/state-store.js';
import type { CallerPolicy } from '../caller-policy.js';
import { sendEmpty, sendError, sendJson } from '../error-response.js';
import { readBody } from '../read-body.js';

const MAX_JOB_BODY_BYTES = 1024 * 1024;

export interface JobRouteDeps {
  /** By lower-case name. A configuration named `default` receives the names that match no other. */
  readonly configurations: ReadonlyMap<string, JobConfiguration>;
  readonly board: JobBoard;
  readonly schedules: JobScheduleBook;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * `/job/{name}[/{id}]`, `/job-schedules/{name}[/{id}]`, `/jobs/status` and `/status-jobs` (reference §1.7).
 * Private jobs: `POST` from an external caller answers 400 `visibility_private` as SlimFaas does; reading or
 * deleting them answers 404, hiding them (docs/jobs.md).
 */
export async function handleJobRoute(
  deps: JobRouteDeps,
  isInternal: CallerPolicy,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (path === '/jobs/status' || path === '/status-jobs') {
    if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, method, 'GET');
    return sendJson(res, 200, await jobsStatus(deps));
  }
  const schedules = path.startsWith('/job-schedules/');
  const [rawName = '', id, ...extra] = path
    .slice(schedules ? '/job-schedules/'.length : '/job/'.length)
    .split('/');
  const name = safeDecode(rawName).toLowerCase();
  if (!JOB_NAME_PATTERN.test(name)) return sendError(res, 'invalid_job_name', JOB_NAME_RULE);
  const config = deps.configurations.get(name) ?? deps.configurations.get('default');
  if (config === undefined) return sendError(res, 'job_not_found', `no job named "${name}"`);
  if (extra.length > 0 || id === '')
    return sendError(res, 'route_not_found', `no route for ${method} ${path}`);
  const context: RouteContext = { deps, req, res, config, internal: isInternal(req), method };
  try {
    if (schedules) await scheduleRoute(context, id);
    else await jobRoute(context, id);
  } catch (error) {
    if (!isStoreUnavailable(error)) throw error;
    deps.logger.warn({ err: error, job: config.name }, 'state store unavailable');
    sendError(res, 'store_unavailable', 'the state store is unavailable');
  }
}

interface RouteContext {
  readonly deps: JobRouteDeps;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly config: JobConfiguration;
  readonly internal: boolean;
  readonly method: string;
}

const hidden = (c: RouteContext) => c.config.visibility === 'Private' && !c.internal;

async function jobRoute(c: RouteContext, id: string | undefined): Promise<void> {
  const { res, config, deps } = c;
  if (id === undefined && c.method === 'POST') return submitJob(c);
  if (id === undefined && (c.method === 'GET' || c.method === 'HEAD')) {
    if (hidden(c)) return sendError(res, 'job_not_found', `no job named "${config.name}"`);
    return sendJson(res, 200, listJson(deps.board.runs(config.name)));
  }
  if (id !== undefined && c.method === 'DELETE') {
    c.req.resume();
    if (hidden(c)) return sendError(res, 'job_not_found', `no job named "${config.name}"`);
    const outcome = await deps.board.cancel(config.name, id);
    if (outcome === 'not-found')
      return sendError(res, 'element_not_found', `no queued or running job "${id}" of "${config.name}"`);
    return sendEmpty(res, 200);
  }
  return notAllowed(res, c.method, id === undefined ? 'GET, POST' : 'DELETE');
}

async function submitJob(c: RouteContext): Promise<void> {
  const json = await readJson(c);
  if (json === undefined) return;
  const request = parseCreateJob(json);
  if (!request.ok) return sendError(c.res, 'bad_request', `invalid CreateJob: ${request.message}`);
  const resolved = resolveJobRequest({
    config: c.config,
    request: request.value,
    internal: c.internal,
    runName: newJobRunName(c.config.name),
    nowMs: c.deps.clock.now(),
  });
  if (!resolved.ok) return sendError(c.res, resolved.code, resolved.message);
  const id = randomUUID();
  await c.deps.board.submit(resolved.job, id);
  sendJson(c.res, 202, { Id: id });
}

async function scheduleRoute(c: RouteContext, id: string | undefined): Promise<void> {
  const { res, config, deps } = c;
  if (id === undefined && c.method === 'POST') {
    const json = await readJson(c);
    if (json === undefined) return;
    const schedule = parseScheduleCreateJob(json, randomUUID());
    if (!schedule.ok) return sendError(res, 'bad_request', `invalid ScheduleCreateJob: ${schedule.message}`);
    const check = resolveJobRequest({
      config,
      request: schedule.value.request,
      internal: c.internal,
      runName: newJobRunName(config.name),
      nowMs: deps.clock.now(),
    });
    if (!check.ok) return sendError(res, check.code, check.message);
    await deps.schedules.add(config.name, schedule.value);
    return sendJson(res, 201, { Id: schedule.value.id });
  }
  if (id === undefined && (c.method === 'GET' || c.method === 'HEAD')) {
    if (hidden(c)) return sendError(res, 'job_not_found', `no job named "${config.name}"`);
    const list = await deps.schedules.list(config.name);
    return sendJson(
      res,
      200,
      list.map((s) => ({ Id: s.id, Schedule: s.schedule, ...requestToJson(s.request) })),
    );
  }
  if (id !== undefined && c.method === 'DELETE') {
    c.req.resume();
    if (hidden(c)) return sendError(res, 'visibility_private', `job "${config.name}" is private`);
    const outcome = await deps.schedules.remove(config.name, id);
    if (outcome === 'not-found')
      return sendError(res, 'element_not_found', `no schedule "${id}" of "${config.name}"`);
    return sendEmpty(res, 204);
  }
  return notAllowed(res, c.method, id === undefined ? 'GET, POST' : 'DELETE');
}

/** The JSON body, or undefined once an error was answered. */
async function readJson(c: RouteContext): Promise<unknown> {
  const read = await readBody(c.req, MAX_JOB_BODY_BYTES);
  if (read.kind === 'aborted') return undefined;
  if (read.kind === 'too-large') {
    sendError(c.res, 'body_too_large', `job requests are limited to ${MAX_JOB_BODY_BYTES} bytes`);
    return undefined;
  }
  const text = read.body.toString('utf8').trim();
  if (text === '') {
    sendError(c.res, 'bad_request', 'expected a JSON object body, e.g. {"Args": ["42"]}');
    return undefined;
  }
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === 'object' && json !== null && !Array.isArray(json)) return json;
    sendError(c.res, 'bad_request', 'expected a JSON object body, e.g. {"Args": ["42"]}');
  } catch (error) {
    sendError(c.res, 'bad_request', `the body is not valid JSON: ${(error as Error).message}`);
  }
  return undefined;
}

/** .NET UTC ticks (100 ns since 0001-01-01), the unit of SlimFaas's job timestamps. */
export function toTicks(ms: number): number {
  return ms * 10_000 + 621_355_968_000_000_000;
}

/** `GET /job/{name}`: started runs newest first at positions -1, -2, …, then queued ones at 0, 1, … (as SlimFaas). */
function listJson(runs: readonly JobRunView[]): unknown[] {
  let started = 0;
  let queued = 0;
  return runs.map((run) => ({
    Name: run.runName,
    Status: run.status,
    Id: run.elementId,
    PositionInQueue: run.status === 'Queued' ? queued++ : -++started,
    InQueueTimestamp: toTicks(run.enqueuedAtMs),
    StartTimestamp: run.startedAtMs === undefined ? -1 : toTicks(run.startedAtMs),
  }));
}

/** SlimFaas's `JobConfigurationStatus` list. */
export async function jobsStatus(deps: JobRouteDeps): Promise<unknown[]> {
  const nowMs = deps.clock.now();
  const out: unknown[] = [];
  for (const config of deps.configurations.values()) {
    const api = await deps.schedules.list(config.name).catch(() => [] as readonly JobSchedule[]);
    out.push({
      Name: config.name,
      Visibility: config.visibility,
      Image: config.image,
      ImagesWhitelist: config.imagesWhitelist,
      NumberParallelJob: config.numberParallelJob,
      Resources: resourcesToJson(config.resources),
      DependsOn: config.dependsOn,
      Schedules: [...config.schedules, ...api].map((s) => {
        const next = nextOccurrenceMs(s.schedule, nowMs);
        return {
          Id: s.id,
          Schedule: s.schedule,
          Image: s.request.image ?? config.image,
          NextExecutionTimestamp: next === undefined ? null : Math.floor(next / 1000),
          Resources: s.request.resources === undefined ? null : resourcesToJson(s.request.resources),
          DependsOn: s.request.dependsOn ?? null,
        };
      }),
      RunningJobs: deps.board
        .runs(config.name)
        .filter((run) => run.status !== 'Queued')
        .map((run) => ({
          Name: run.runName,
          Status: run.status,
          ElementId: run.elementId,
          InQueueTimestamp: toTicks(run.enqueuedAtMs),
          StartTimestamp: run.startedAtMs === undefined ? -1 : toTicks(run.startedAtMs),
        })),
    });
  }
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function notAllowed(res: ServerResponse, method: string, allowed: string): void {
  res.setHeader('allow', allowed);
  sendError(res, 'method_not_allowed', `${method} is not allowed here; use ${allowed}`);
}
