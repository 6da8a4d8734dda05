import type { ClockTime, FunctionSchedule } from './function-spec.js';

/** A wall-clock date and time with no zone attached; `month` is 1–12. */
export interface LocalDateTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

const DAY_MS = 86_400_000;

/**
 * Intl formatters are costly to build and immutable, so one per zone is memoised. Keys come from
 * validated annotations, so the map stays as small as the set of zones in use.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The canonical IANA id of `timeZone` (`europe/paris` → `Europe/Paris`), or undefined when Intl rejects it. */
export function canonicalTimeZone(timeZone: string): string | undefined {
  try {
    return formatterFor(timeZone).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** The wall clock shown in `timeZone` at `instantMs`, written as if it were a UTC instant (second precision). */
function wallClockMs(instantMs: number, timeZone: string): number {
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(instantMs)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = fields;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/** UTC offset of `timeZone` at `instantMs`, in ms (Paris in summer: +7_200_000). */
function offsetMs(instantMs: number, timeZone: string): number {
  return wallClockMs(instantMs, timeZone) - Math.floor(instantMs / 1000) * 1000;
}

/**
 * The instant at which the wall clock in `timeZone` shows `local`.
 * DST: a time inside a spring-forward gap maps to the first instant after the gap (02:30 on the
 * day Paris jumps from 02:00 to 03:00 → 03:00 local); an ambiguous fall-back time maps to the
 * earlier of its two instants. Assumes at most one offset change within a day of `local`.
 */
export function zonedLocalTimeToUtc(local: LocalDateTime, timeZone: string): number {
  const naive = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  const before = offsetMs(naive - DAY_MS, timeZone);
  const after = offsetMs(naive + DAY_MS, timeZone);
  const valid = [naive - before, naive - after].filter((u) => wallClockMs(u, timeZone) === naive);
  if (valid.length > 0) return Math.min(...valid);
  // In a gap the offset grows from `before` to `after` at a transition T with
  // naive - after < T <= naive - before: find T to the second (offsets change on whole seconds).
  let lo = (naive - after) / 1000;
  let hi = (naive - before) / 1000;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMs(mid * 1000, timeZone) === before) lo = mid;
    else hi = mid;
  }
  return hi * 1000;
}

function localDateOf(instantMs: number, timeZone: string): LocalDate {
  const wall = new Date(wallClockMs(instantMs, timeZone));
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate() };
}

function addDays(date: LocalDate, days: number): LocalDate {
  const shifted = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}

function instantOn(date: LocalDate, time: ClockTime, timeZone: string): number {
  return zonedLocalTimeToUtc({ ...date, hour: time.hour, minute: time.minute }, timeZone);
}

/**
 * Among `times` on yesterday's and today's LOCAL date in `timeZone`, the latest instant ≤ `nowMs`
 * and the index of its time. SlimFaas used today's UTC date as the local date, which skips
 * yesterday evening's entries just after local midnight (reference Appendix A #17).
 */
function latestAtOrBefore(
  times: readonly ClockTime[],
  timeZone: string,
  nowMs: number,
): { readonly index: number; readonly atMs: number } | undefined {
  const today = localDateOf(nowMs, timeZone);
  let latest: { index: number; atMs: number } | undefined;
  for (const date of [addDays(today, -1), today]) {
    for (const [index, time] of times.entries()) {
      const atMs = instantOn(date, time, timeZone);
      if (atMs <= nowMs && (latest === undefined || atMs > latest.atMs)) latest = { index, atMs };
    }
  }
  return latest;
}

/**
 * The latest `WakeUp` instant ≤ `nowMs` (reference §4.1 step 3), or undefined without wake-up times.
 * A wake-up acts as a synthetic call at that instant: it keeps the function up for one timeout.
 */
export function lastWakeUp(schedule: FunctionSchedule | undefined, nowMs: number): number | undefined {
  if (schedule === undefined || schedule.wakeUp.length === 0) return undefined;
  return latestAtOrBefore(schedule.wakeUp, schedule.timeZoneId, nowMs)?.atMs;
}

/**
 * The inactivity timeout in seconds that applies at `nowMs` (reference §4.1 step 5):
 * - ≥ 2 `ScaleDownTimeout` entries: the one whose time today is the latest ≤ now, else the latest
 *   entry of the day (yesterday evening's);
 * - exactly 1 entry: its value once its time today is reached, otherwise `defaultSeconds`;
 * - none (or no schedule): `defaultSeconds`.
 */
export function scaleDownTimeoutSeconds(
  schedule: FunctionSchedule | undefined,
  nowMs: number,
  defaultSeconds: number,
): number {
  const entries = schedule?.scaleDownTimeout ?? [];
  if (schedule === undefined || entries.length === 0) return defaultSeconds;
  const [only] = entries;
  if (entries.length === 1 && only !== undefined) {
    const today = localDateOf(nowMs, schedule.timeZoneId);
    return instantOn(today, only.time, schedule.timeZoneId) <= nowMs ? only.valueSeconds : defaultSeconds;
  }
  const latest = latestAtOrBefore(
    entries.map((entry) => entry.time),
    schedule.timeZoneId,
    nowMs,
  );
  return latest === undefined ? defaultSeconds : (entries[latest.index]?.valueSeconds ?? defaultSeconds);
}
