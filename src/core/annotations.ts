import {
  isValidFunctionName,
  type EventSubscription,
  type FunctionSpec,
  type PathVisibility,
  type Trust,
  type Visibility,
} from './function-spec.js';
import { nearest, PREFIX, problem, read, type Context } from './annotation-context.js';
import { readConfiguration, readSchedule } from './annotation-json.js';
import type { AnnotationParseResult } from './annotation-types.js';

export type { AnnotationProblem, AnnotationParseResult } from './annotation-types.js';

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
/** `SlimFaas/*` keys we do not read: the PromQL autoscaler, old or misspelt keys, typos. */
function warnIgnoredKeys(ctx: Context): void {
  for (const [key, value] of Object.entries(ctx.annotations)) {
    if (!key.toLowerCase().startsWith(PREFIX.toLowerCase()) || KNOWN_KEYS.includes(key)) continue;
    const near = nearest(key.slice(PREFIX.length), KNOWN_NAMES);
    const hint = near === undefined ? '' : `; did you mean ${PREFIX}${near}?`;
    ctx.warnings.push({ key, value, message: KEY_HINTS[key] ?? `unknown annotation, ignored${hint}` });
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
