import {
  DEFAULT_CONFIGURATION,
  isValidFunctionName,
  type ClockTime,
  type EventSubscription,
  type FunctionConfiguration,
  type FunctionSchedule,
  type FunctionSpec,
  type PathVisibility,
  type RetryPolicy,
  type Trust,
  type Visibility,
} from './function-spec.js';
import { canonicalTimeZone } from './schedule.js';

/** One annotation that could not be used, named by key and value for the single log line. */
export interface AnnotationProblem {
  readonly key: string;
  readonly value: string;
  readonly message: string;
}

export type AnnotationParseResult =
  | { readonly ok: true; readonly spec: FunctionSpec; readonly warnings: readonly AnnotationProblem[] }
  | { readonly ok: false; readonly problems: readonly AnnotationProblem[] };

const PREFIX = 'SlimFaas/';
const KNOWN_NAMES = [
  'Function',
  'ReplicasMin',
  'ReplicasAtStart',
  'TimeoutSecondBeforeSetReplicasMin',
  'NumberParallelRequest',
  'NumberParallelRequestPerPod',
  'ReplicasStartAsSoonAsOneFunctionRetrieveARequest',
  'DependsOn',
  'Schedule',
  'SubscribeEvents',
  'DefaultVisibility',
  'PathsStartWithVisibility',
  'DefaultTrust',
  'Configuration',
];
const KNOWN_KEYS = KNOWN_NAMES.map((name) => PREFIX + name);

/** Keys users write from docs or older versions, with what to do instead (reference §2, Appendix A #16). */
const KEY_HINTS: Readonly<Record<string, string>> = {
  'SlimFaas/Scale': 'PromQL autoscaling is not supported yet; ignored',
  'SlimFaas/UrlsPathStartWithVisibility':
    'unknown annotation, ignored; did you mean SlimFaas/PathsStartWithVisibility?',
  'SlimFaas/ExcludeDeploymentsFromVisibilityPrivate':
    'OLD SlimFaas only, ignored; set SlimFaas/DefaultTrust: Untrusted on the calling function instead',
};

const VISIBILITIES: readonly Visibility[] = ['Public', 'Private'];
const TRUSTS: readonly Trust[] = ['Trusted', 'Untrusted'];

type Json = Record<string, unknown>;

/** Collects every problem and warning, so one pass reports them all. */
interface Context {
  readonly annotations: Readonly<Record<string, string>>;
  readonly problems: AnnotationProblem[];
  readonly warnings: AnnotationProblem[];
}

/**
 * Parses a function's `SlimFaas/*` annotations (reference §2) into a frozen FunctionSpec.
 * Invalid values → `ok: false` with every problem; ignored keys and JSON properties → warnings.
 * Keys outside `SlimFaas/` (e.g. `prometheus.io/*`) are not ours and are skipped silently.
 */
export function parseFunctionAnnotations(
  name: string,
  annotations: Readonly<Record<string, string>>,
): AnnotationParseResult {
  const ctx: Context = { annotations, problems: [], warnings: [] };
  if (!isValidFunctionName(name)) {
    problem(ctx, 'name', name, 'expected a lowercase DNS label (a-z, 0-9, "-", at most 63 characters)');
  }
  const marker = read(ctx, 'Function');
  if (marker !== undefined && marker.trim().toLowerCase() !== 'true') {
    problem(ctx, PREFIX + 'Function', marker, `expected "true", got ${JSON.stringify(marker)}`);
  }
  const defaultVisibility = readChoice(ctx, 'DefaultVisibility', VISIBILITIES) ?? 'Public';
  const spec: FunctionSpec = {
    name,
    replicasMin: readInt(ctx, 'ReplicasMin', 0) ?? 0,
    replicasAtStart: readInt(ctx, 'ReplicasAtStart', 0) ?? 1,
    timeoutSecondBeforeSetReplicasMin: readInt(ctx, 'TimeoutSecondBeforeSetReplicasMin', 0) ?? 300,
    numberParallelRequest: readInt(ctx, 'NumberParallelRequest', 1) ?? 10,
    numberParallelRequestPerPod: readInt(ctx, 'NumberParallelRequestPerPod', 1) ?? 10,
    replicasStartAsSoonAsOneFunctionRetrieveARequest:
      readChoice(ctx, 'ReplicasStartAsSoonAsOneFunctionRetrieveARequest', ['true', 'false']) === 'true',
    dependsOn: readDependsOn(ctx, name),
    schedule: readSchedule(ctx),
    subscribeEvents: readSubscribeEvents(ctx, defaultVisibility),
    defaultVisibility,
    pathsStartWithVisibility: readPathsVisibility(ctx),
    defaultTrust: readChoice(ctx, 'DefaultTrust', TRUSTS) ?? 'Trusted',
    configuration: readConfiguration(ctx),
  };
  warnIgnoredKeys(ctx);
  if (ctx.problems.length > 0) return deepFreeze({ ok: false, problems: ctx.problems });
  return deepFreeze({ ok: true, spec, warnings: ctx.warnings });
}

function problem(ctx: Context, key: string, value: string, message: string): void {
  ctx.problems.push({ key, value, message });
}

function read(ctx: Context, name: string): string | undefined {
  const key = PREFIX + name;
  return Object.hasOwn(ctx.annotations, key) ? ctx.annotations[key] : undefined;
}

function readInt(ctx: Context, name: string, min: number): number | undefined {
  const value = read(ctx, name);
  if (value === undefined) return undefined;
  const n = Number(value.trim());
  if (/^\d+$/.test(value.trim()) && Number.isSafeInteger(n) && n >= min) return n;
  problem(ctx, PREFIX + name, value, `expected an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return undefined;
}

/** Case-insensitive match against `choices`, returned in their canonical spelling. */
function readChoice<T extends string>(ctx: Context, name: string, choices: readonly T[]): T | undefined {
  const value = read(ctx, name);
  if (value === undefined) return undefined;
  const choice = matchChoice(value, choices);
  if (choice === undefined) {
    problem(ctx, PREFIX + name, value, `expected ${choices.join(' or ')}, got ${JSON.stringify(value)}`);
  }
  return choice;
}

function matchChoice<T extends string>(value: string, choices: readonly T[]): T | undefined {
  return choices.find((choice) => choice.toLowerCase() === value.trim().toLowerCase());
}

function readCsv(ctx: Context, name: string): string[] {
  const value = read(ctx, name) ?? '';
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

function readDependsOn(ctx: Context, self: string): string[] {
  const names = [...new Set(readCsv(ctx, 'DependsOn'))];
  if (!names.includes(self)) return names;
  const message = 'a function cannot depend on itself; that entry is ignored';
  ctx.warnings.push({ key: PREFIX + 'DependsOn', value: read(ctx, 'DependsOn') ?? '', message });
  return names.filter((dependency) => dependency !== self);
}

/** Splits `Public:rest` / `Private:rest`; a text before `:` containing `/` is not a prefix. */
function splitVisibility(
  ctx: Context,
  name: string,
  entry: string,
): { visibility: Visibility | undefined; rest: string } | undefined {
  const colon = entry.indexOf(':');
  const prefix = colon < 0 ? '' : entry.slice(0, colon);
  if (colon < 0 || prefix.includes('/')) return { visibility: undefined, rest: entry };
  const visibility = matchChoice(prefix, VISIBILITIES);
  const rest = entry.slice(colon + 1).trim();
  if (visibility === undefined) {
    problem(ctx, PREFIX + name, entry, `unknown prefix "${prefix}:", expected Public: or Private:`);
  } else if (rest === '') {
    problem(ctx, PREFIX + name, entry, `nothing after "${prefix}:"`);
  } else {
    return { visibility, rest };
  }
  return undefined;
}

function readSubscribeEvents(ctx: Context, defaultVisibility: Visibility): EventSubscription[] {
  return readCsv(ctx, 'SubscribeEvents').flatMap((entry) => {
    const split = splitVisibility(ctx, 'SubscribeEvents', entry);
    return split === undefined
      ? []
      : [{ name: split.rest, visibility: split.visibility ?? defaultVisibility }];
  });
}

function readPathsVisibility(ctx: Context): PathVisibility[] {
  return readCsv(ctx, 'PathsStartWithVisibility').flatMap((entry) => {
    const split = splitVisibility(ctx, 'PathsStartWithVisibility', entry);
    if (split === undefined) return [];
    return [{ path: '/' + split.rest.replace(/^\/+/, ''), visibility: split.visibility ?? 'Public' }];
  });
}

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
function readSchedule(ctx: Context): FunctionSchedule | undefined {
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
function readConfiguration(ctx: Context): FunctionConfiguration {
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

/** `SlimFaas/*` keys we do not read: the PromQL autoscaler, old or misspelt keys, typos. */
function warnIgnoredKeys(ctx: Context): void {
  for (const [key, value] of Object.entries(ctx.annotations)) {
    if (!key.toLowerCase().startsWith(PREFIX.toLowerCase()) || KNOWN_KEYS.includes(key)) continue;
    const near = nearest(key.slice(PREFIX.length), KNOWN_NAMES);
    const hint = near === undefined ? '' : `; did you mean ${PREFIX}${near}?`;
    ctx.warnings.push({ key, value, message: KEY_HINTS[key] ?? `unknown annotation, ignored${hint}` });
  }
}

/** The known name closest to `word` (case-insensitive edit distance), when close enough to be a typo. */
function nearest(word: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(word.toLowerCase(), name.toLowerCase());
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  const tolerance = Math.max(2, Math.floor(word.length / 6));
  return best !== undefined && best.distance <= tolerance ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
