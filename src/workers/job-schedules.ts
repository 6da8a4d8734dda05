import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { latestOccurrenceMs } from '../core/job-cron.js';
import type { JobBoard, JobScheduleBook } from '../core/job-ports.js';
import { resolveJobRequest } from '../core/job-request.js';
import { parseScheduleCreateJob, requestToJson } from '../core/job-schema.js';
import { newJobRunName, type JobConfiguration, type JobSchedule } from '../core/job-spec.js';
import type { Logger } from '../core/ports.js';
import type { StateStore } from '../core/state-store.js';

const YEAR_MS = 366 * 86_400_000;
const apiKey = (configName: string) => `job-schedules:${configName}`;
const lastRunKey = (configName: string, id: string) => `job-schedule-last:${configName}:${id}`;

export interface JobSchedulesOptions {
  readonly store: StateStore;
  readonly board: JobBoard;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly configurations: readonly JobConfiguration[];
  readonly isLeader?: () => boolean;
  /** How often schedules are checked. Default 10 000 (cron has minute resolution); 0 disables the timer. */
  readonly intervalMs?: number;
}

/**
 * Cron schedules of jobs (SlimFaas's SlimScheduleJobsWorker, reference §4.8): the static ones of the
 * configuration and the ones created through `/job-schedules/{name}` (kept in the store's key/values, one JSON
 * list per job). The leader checks them on a timer; per schedule the store keeps the last occurrence that fired.
 * The first time a schedule is seen only "now" is recorded; afterwards, when the latest occurrence at or before
 * now is newer than the recorded one, one run is submitted (as an internal caller) and that occurrence
 * recorded: runs missed while SlimFaas was down are caught up once.
 */
export class JobSchedules implements JobScheduleBook {
  readonly #o: JobSchedulesOptions;
  #timer: NodeJS.Timeout | undefined;
  /** Read-modify-write of one job's list is serialized in this process. */
  #writes: Promise<unknown> = Promise.resolve();
  #firing: Promise<void> | undefined;

  constructor(options: JobSchedulesOptions) {
    this.#o = options;
  }

  start(): void {
    const intervalMs = this.#o.intervalMs ?? 10_000;
    if (intervalMs <= 0 || this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.fire(), intervalMs);
    this.#timer.unref();
    void this.fire();
  }

  close(): Promise<void> {
    clearInterval(this.#timer);
    return this.#firing ?? Promise.resolve();
  }

  async list(configName: string): Promise<readonly JobSchedule[]> {
    const value = await this.#o.store.getValue(apiKey(configName), this.#o.clock.now());
    if (value === undefined) return [];
    const entries = JSON.parse(new TextDecoder().decode(value)) as Record<string, unknown>[];
    const schedules: JobSchedule[] = [];
    for (const entry of entries) {
      const { Id, ...rest } = entry;
      const parsed = parseScheduleCreateJob(rest, String(Id));
      if (parsed.ok) schedules.push(parsed.value);
    }
    return schedules;
  }

  add(configName: string, schedule: JobSchedule): Promise<void> {
    return this.#update(configName, (list) => [...list, schedule]).then(() => undefined);
  }

  async remove(configName: string, id: string): Promise<'deleted' | 'not-found'> {
    let found = false;
    await this.#update(configName, (list) => {
      found = list.some((s) => s.id === id);
      return list.filter((s) => s.id !== id);
    });
    if (found) await this.#o.store.deleteValue(lastRunKey(configName, id));
    return found ? 'deleted' : 'not-found';
  }

  /** Checks every schedule at the clock's now; at most one check runs at a time. */
  fire(): Promise<void> {
    if (this.#o.isLeader !== undefined && !this.#o.isLeader()) return Promise.resolve();
    this.#firing ??= this.#fireAll().finally(() => (this.#firing = undefined));
    return this.#firing;
  }

  async #fireAll(): Promise<void> {
    for (const config of this.#o.configurations) {
      try {
        const schedules = [...config.schedules, ...(await this.list(config.name))];
        for (const schedule of schedules) await this.#fireOne(config, schedule);
      } catch (error) {
        this.#o.logger.warn({ err: error, job: config.name }, 'job schedules could not be checked');
      }
    }
  }

  async #fireOne(config: JobConfiguration, schedule: JobSchedule): Promise<void> {
    const { store, clock } = this.#o;
    const nowMs = clock.now();
    const key = lastRunKey(config.name, schedule.id);
    const stored = await store.getValue(key, nowMs);
    const expiresAtMs = nowMs + YEAR_MS;
    if (stored === undefined) {
      await store.setValue(key, new TextEncoder().encode(String(nowMs)), { expiresAtMs });
      return;
    }
    const latest = latestOccurrenceMs(schedule.schedule, nowMs);
    if (latest === undefined || latest <= Number(new TextDecoder().decode(stored))) return;
    const resolved = resolveJobRequest({
      config,
      request: schedule.request,
      internal: true,
      runName: newJobRunName(config.name),
      nowMs,
    });
    if (resolved.ok) {
      const id = randomUUID();
      await this.#o.board.submit(resolved.job, id);
      this.#o.logger.info(
        { job: config.name, schedule: schedule.schedule, scheduleId: schedule.id, id },
        'scheduled job submitted',
      );
    } else {
      this.#o.logger.warn(
        { job: config.name, scheduleId: schedule.id, reason: resolved.message },
        'scheduled job refused',
      );
    }
    await store.setValue(key, new TextEncoder().encode(String(latest)), { expiresAtMs });
  }

  #update(configName: string, change: (list: readonly JobSchedule[]) => JobSchedule[]): Promise<void> {
    const next = this.#writes.then(async () => {
      const list = change(await this.list(configName));
      const json = list.map((s) => ({ Id: s.id, Schedule: s.schedule, ...requestToJson(s.request) }));
      if (json.length === 0) await this.#o.store.deleteValue(apiKey(configName));
      else await this.#o.store.setValue(apiKey(configName), new TextEncoder().encode(JSON.stringify(json)));
    });
    this.#writes = next.catch(() => undefined);
    return next;
  }
}
