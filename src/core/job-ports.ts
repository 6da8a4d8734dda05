import type { JobSchedule, QueuedJob } from './job-spec.js';

/** SlimFaas's job statuses (`Queued` for an element not started yet). */
export type JobRunStatus = 'Queued' | 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** A run of a job as `GET /job/{name}` and `/jobs/status` show it. */
export interface JobRunView {
  readonly runName: string;
  readonly elementId: string;
  readonly status: JobRunStatus;
  readonly enqueuedAtMs: number;
  /** Absent while queued. */
  readonly startedAtMs?: number;
}

/**
 * The job queue as the routes see it; implemented by the JobWorker, which holds the leases of the job elements
 * it knows (queued and running).
 */
export interface JobBoard {
  /** Stores the run durably (resolves after the store's commit) and lets the worker see it at once. */
  submit(job: QueuedJob, elementId: string): Promise<'enqueued' | 'duplicate'>;
  /** Runs of `configName`: the started ones, newest first, then the queued ones in FIFO order. */
  runs(configName: string): readonly JobRunView[];
  /** `cancelled`: it was queued and is removed; `deleted`: it was running and is stopped and removed. */
  cancel(configName: string, elementId: string): Promise<'cancelled' | 'deleted' | 'not-found'>;
}

/** Schedules created through `/job-schedules/{name}`, persisted in the store's key/values. */
export interface JobScheduleBook {
  list(configName: string): Promise<readonly JobSchedule[]>;
  add(configName: string, schedule: JobSchedule): Promise<void>;
  remove(configName: string, id: string): Promise<'deleted' | 'not-found'>;
}
