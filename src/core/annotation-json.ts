import {
  DEFAULT_CONFIGURATION,
  type ClockTime,
  type FunctionConfiguration,
  type FunctionSchedule,
  type RetryPolicy,
} from './function-spec.js';
import { nearest, PREFIX, problem, read, type Context, type Json } from './annotation-context.js';
import { canonicalTimeZone } from './schedule.js';

/**
 * The JSON-valued annotations, `SlimFaas/Schedule` and `SlimFaas/Configuration`: every problem is
 * reported with its path inside the JSON (`DefaultAsync.HttpTimeout: expected …`).
 */

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Where we are inside a JSON annotation: its name, an object in it, and that object's path. */
interface JsonScope {
  readonly ctx: Context;
  readonly name: 'Schedule' | 'Configuration';
  readonly json: Json;
  /** Prefix for messages, e.g. `DefaultAsync.` (empty at the root). */
  readonly path: string;
}

/** Records a problem at `path` inside the JSON annotation; returns undefined so callers can `return fail(…)`. */
function fail(scope: JsonScope, path: string, value: unknown, expected: string): undefined {
  const shown = JSON.stringify(value) ?? String(value);
  problem(scope.ctx, PREFIX + scope.name, shown, `${path}: expected ${expected}, got ${shown}`);
  return undefined;
}

/** Parses `SlimFaas/<name>` as a JSON object; undefined when absent or invalid (then a problem). */
function rootScope(ctx: Context, name: JsonScope['name']): JsonScope | undefined {
  const value = read(ctx, name);
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    problem(ctx, PREFIX + name, value, `invalid JSON (${(error as Error).message})`);
    return undefined;
  }
  if (isObject(parsed)) return { ctx, name, json: parsed, path: '' };
  problem(ctx, PREFIX + name, value, 'expected a JSON object');
  return undefined;
}

/** A nested object: missing or null → `{}` (defaults apply); anything but an object → a problem. */
function child(scope: JsonScope, property: string): JsonScope {
  const value = scope.json[property];
  const path = `${scope.path}${property}`;
  if (isObject(value)) return { ...scope, json: value, path: `${path}.` };
  if (value !== undefined && value !== null) fail(scope, path, value, 'an object');
  return { ...scope, json: {}, path: `${path}.` };
}

/** Unknown properties are ignored with a warning naming the nearest known one. */
function warnUnknownProperties(scope: JsonScope, known: readonly string[]): void {
  for (const [property, value] of Object.entries(scope.json)) {
    if (known.includes(property)) continue;
    const near = nearest(property, known);
    const hint = near === undefined ? '' : `; did you mean ${near}?`;
    const message = `unknown property ${scope.path}${property} ignored${hint}`;
    scope.ctx.warnings.push({ key: PREFIX + scope.name, value: JSON.stringify(value) ?? '', message });
  }
}

/** A list property: missing or null → undefined (the default applies); `[]` stays empty. */
function readList<T>(
  scope: JsonScope,
  property: string,
  item: (value: unknown, path: string) => T | undefined,
): T[] | undefined {
  const value = scope.json[property];
  const path = `${scope.path}${property}`;
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) return fail(scope, path, value, 'an array');
  return value.flatMap((entry: unknown, index) => {
    const parsed = item(entry, `${path}[${index}]`);
    return parsed === undefined ? [] : [parsed];
  });
}

function readClockTime(scope: JsonScope, value: unknown, path: string): ClockTime | undefined {
  const match = typeof value === 'string' ? /^(\d{1,2}):(\d{2})$/.exec(value.trim()) : null;
  const hour = Number(match?.[1]);
  const minute = Number(match?.[2]);
  if (match !== null && hour <= 23 && minute <= 59) return { hour, minute };
  return fail(scope, path, value, 'a time H:mm or HH:mm');
}

function readScaleDownEntry(
  scope: JsonScope,
  value: unknown,
  path: string,
): FunctionSchedule['scaleDownTimeout'][number] | undefined {
  if (!isObject(value)) return fail(scope, path, value, 'an object {"Time", "Value"}');
  const entry: JsonScope = { ...scope, json: value, path: `${path}.` };
  warnUnknownProperties(entry, ['Time', 'Value']);
  const time = readClockTime(scope, value.Time, `${path}.Time`);
  const valueSeconds = value.Value;
  if (typeof valueSeconds !== 'number' || !Number.isSafeInteger(valueSeconds) || valueSeconds < 0) {
    return fail(scope, `${path}.Value`, valueSeconds, 'an integer ≥ 0 (seconds)');
  }
  return time === undefined ? undefined : { time, valueSeconds };
}

/** `SlimFaas/Schedule`; TimeZoneID defaults to UTC and is stored in its canonical IANA spelling. */
export function readSchedule(ctx: Context): FunctionSchedule | undefined {
  const root = rootScope(ctx, 'Schedule');
  if (root === undefined) return undefined;
  warnUnknownProperties(root, ['TimeZoneID', 'Default']);
  const zone = root.json.TimeZoneID ?? 'UTC';
  const timeZoneId = typeof zone === 'string' ? canonicalTimeZone(zone.trim()) : undefined;
  if (timeZoneId === undefined) fail(root, 'TimeZoneID', zone, 'an IANA time zone such as "Europe/Paris"');
  const byDefault = child(root, 'Default');
  warnUnknownProperties(byDefault, ['WakeUp', 'ScaleDownTimeout']);
  return {
    timeZoneId: timeZoneId ?? 'UTC',
    wakeUp: readList(byDefault, 'WakeUp', (v, p) => readClockTime(byDefault, v, p)) ?? [],
    scaleDownTimeout:
      readList(byDefault, 'ScaleDownTimeout', (v, p) => readScaleDownEntry(byDefault, v, p)) ?? [],
  };
}

function readHttpTimeout(scope: JsonScope, fallback: number): number {
  const value = scope.json.HttpTimeout;
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  fail(scope, `${scope.path}HttpTimeout`, value, 'a number > 0 (seconds)');
  return fallback;
}

function readRetryPolicy(root: JsonScope, property: string, defaults: RetryPolicy): RetryPolicy {
  const scope = child(root, property);
  warnUnknownProperties(scope, ['HttpTimeout', 'TimeoutRetries', 'HttpStatusRetries']);
  const delays = readList(scope, 'TimeoutRetries', (v, p) =>
    typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fail(scope, p, v, 'a number ≥ 0 (seconds)'),
  );
  const statuses = readList(scope, 'HttpStatusRetries', (v, p) =>
    typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599
      ? v
      : fail(scope, p, v, 'an HTTP status code 100–599'),
  );
  return {
    httpTimeoutSeconds: readHttpTimeout(scope, defaults.httpTimeoutSeconds),
    timeoutRetriesSeconds: delays ?? defaults.timeoutRetriesSeconds,
    httpStatusRetries: statuses ?? defaults.httpStatusRetries,
  };
}

/** `SlimFaas/Configuration`: every section and property optional; omitted ones keep their default. */
export function readConfiguration(ctx: Context): FunctionConfiguration {
  const root = rootScope(ctx, 'Configuration');
  if (root === undefined) return DEFAULT_CONFIGURATION;
  warnUnknownProperties(root, ['DefaultSync', 'DefaultAsync', 'DefaultPublish']);
  const sync = child(root, 'DefaultSync');
  // Sync calls are never retried (NEW SlimFaas): OLD retry properties here are ignored with a warning.
  warnUnknownProperties(sync, ['HttpTimeout']);
  return {
    defaultSync: {
      httpTimeoutSeconds: readHttpTimeout(sync, DEFAULT_CONFIGURATION.defaultSync.httpTimeoutSeconds),
    },
    defaultAsync: readRetryPolicy(root, 'DefaultAsync', DEFAULT_CONFIGURATION.defaultAsync),
    defaultPublish: readRetryPolicy(root, 'DefaultPublish', DEFAULT_CONFIGURATION.defaultPublish),
  };
}
