import { Cron } from 'croner';

/**
 * Job schedules: 5-field cron (minute hour day-of-month month day-of-week, 0 = Sunday), evaluated in UTC
 * as SlimFaas does (reference §4.8, `Cron.cs`); when both day fields are restricted they are OR-ed
 * (croner's default, the same as SlimFaas and Vixie cron).
 */
export type CronCheck = { readonly ok: true } | { readonly ok: false; readonly message: string };

export function parseCronExpression(expression: string): CronCheck {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 || fields[0] === '') {
    return {
      ok: false,
      message: `expected a 5-field cron expression (minute hour day month weekday), got ${JSON.stringify(expression)}`,
    };
  }
  try {
    cronOf(expression);
    return { ok: true };
  } catch (error) {
    return {
      ok: false,
      message: `invalid cron expression ${JSON.stringify(expression)}: ${(error as Error).message}`,
    };
  }
}

function cronOf(expression: string): Cron {
  return new Cron(expression.trim(), { timezone: 'UTC', paused: true });
}

/** The latest occurrence at or before `nowMs`, in ms; undefined when there is none within croner's search. */
export function latestOccurrenceMs(expression: string, nowMs: number): number | undefined {
  // previousRuns excludes its reference; one second later includes an occurrence at exactly `nowMs`.
  const [previous] = cronOf(expression).previousRuns(1, new Date(nowMs + 1000));
  return previous?.getTime();
}

/** The first occurrence strictly after `nowMs`, in ms. */
export function nextOccurrenceMs(expression: string, nowMs: number): number | undefined {
  return cronOf(expression).nextRun(new Date(nowMs))?.getTime();
}
