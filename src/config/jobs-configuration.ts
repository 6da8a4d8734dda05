import { createHash } from 'node:crypto';
import { parseJobConfiguration } from '../core/job-schema.js';
import type { JobConfiguration } from '../core/job-spec.js';

/** `SLIMFAAS_JOBS_CONFIGURATION`, parsed: the valid configurations, and one problem per invalid one. */
export interface JobsConfiguration {
  readonly configurations: readonly JobConfiguration[];
  /** `SLIMFAAS_JOBS_CONFIGURATION: job "x": Field: …`; logged at start-up, the job is left out. */
  readonly problems: readonly string[];
}

export const NO_JOBS: JobsConfiguration = Object.freeze({ configurations: [], problems: [] });

/** A static schedule's id: stable across restarts and replicas (SlimFaas uses an xxHash32 of the entry). */
export function staticScheduleId(json: unknown): string {
  return createHash('sha256').update(JSON.stringify(json)).digest('hex').slice(0, 8);
}

/**
 * `{"Configurations": {"<name>": SlimfaasJob}, "Schedules": {"<name>": [ScheduleCreateJob]}}` (reference
 * §4.8). Text that is not such a JSON object is an error of the whole setting (undefined + reason); an
 * invalid job is reported by name and field and the other jobs still load.
 */
export function parseJobsConfiguration(
  raw: string,
): { ok: true; value: JobsConfiguration } | { ok: false; expected: string } {
  const expected = 'JSON {"Configurations": {"<job>": {...}}, "Schedules": {"<job>": [...]}}';
  if (raw === '') return { ok: true, value: NO_JOBS };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return { ok: false, expected: `${expected} (${(error as Error).message})` };
  }
  if (!isObject(json) || !isObjectOrAbsent(json.Configurations) || !isObjectOrAbsent(json.Schedules)) {
    return { ok: false, expected };
  }
  const configurations: JobConfiguration[] = [];
  const problems: string[] = [];
  const schedules = (json.Schedules ?? {}) as Record<string, unknown>;
  const seen = new Set<string>();
  for (const [name, entry] of Object.entries((json.Configurations ?? {}) as Record<string, unknown>)) {
    const parsed = parseJobConfiguration({
      name,
      json: entry,
      schedules: schedulesOf(schedules, name),
      scheduleId: staticScheduleId,
    });
    if (!parsed.ok) problems.push(`job ${JSON.stringify(name)}: ${parsed.message}`);
    else if (seen.has(parsed.value.name))
      problems.push(`job ${JSON.stringify(name)}: defined twice (names are case-insensitive)`);
    else {
      seen.add(parsed.value.name);
      configurations.push(parsed.value);
    }
  }
  for (const name of Object.keys(schedules)) {
    if (!Object.keys(json.Configurations ?? {}).some((n) => n.toLowerCase() === name.toLowerCase())) {
      problems.push(`Schedules.${name}: no job configuration named ${JSON.stringify(name)}`);
    }
  }
  return { ok: true, value: Object.freeze({ configurations, problems }) };
}

function schedulesOf(schedules: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(schedules).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? [] : schedules[key];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isObjectOrAbsent(value: unknown): boolean {
  return value === undefined || isObject(value);
}
