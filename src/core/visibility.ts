import type { EventSubscription, FunctionSpec, PathVisibility, Visibility } from './function-spec.js';

/**
 * Public/private resolution: ONE rule for every route (sync, async, publish-event), where SlimFaas has
 * two that disagree on slashes (reference §4.7). A request path and every `PathsStartWithVisibility`
 * prefix are both put through `normalizeRequestPath`, then the first rule whose prefix starts the path
 * wins (SlimFaas's `StartsWith`: `/admin` also covers `/administrator`); without a match the function's
 * `DefaultVisibility` applies.
 *
 * Normalisation is deliberately more aggressive than what most upstreams do, so that a path cannot look
 * public here and private to the function: every path that could reach a private prefix after some
 * upstream's decoding is classified as that prefix.
 */

interface CompiledRule {
  readonly prefix: string;
  readonly visibility: Visibility;
}

/** Specs are frozen and long-lived: their rules are normalised once. */
const compiledRules = new WeakMap<readonly PathVisibility[], readonly CompiledRule[]>();

/**
 * The visibility of `path` (the path the function will receive, query allowed) on `spec`.
 * O(rules); without rules it returns `spec.defaultVisibility` and allocates nothing.
 */
export function resolveVisibility(spec: FunctionSpec, path: string): Visibility {
  if (spec.pathsStartWithVisibility.length === 0) return spec.defaultVisibility;
  return matchPathRule(spec.pathsStartWithVisibility, path) ?? spec.defaultVisibility;
}

/**
 * The visibility of delivering `subscription`'s event to `path` of `spec`: public only when the
 * subscription is public AND no path rule makes the target path private (so an event cannot be used to
 * reach a private path of a public function). The function's default does not apply: an explicit
 * `Public:` subscription opens a private function to that event, as in SlimFaas.
 */
export function resolveEventVisibility(
  spec: FunctionSpec,
  subscription: EventSubscription,
  path: string,
): Visibility {
  if (subscription.visibility === 'Private') return 'Private';
  if (spec.pathsStartWithVisibility.length === 0) return 'Public';
  return matchPathRule(spec.pathsStartWithVisibility, path) ?? 'Public';
}

function matchPathRule(rules: readonly PathVisibility[], path: string): Visibility | undefined {
  const normalized = normalizeRequestPath(path);
  for (const rule of compile(rules)) {
    if (normalized.startsWith(rule.prefix)) return rule.visibility;
  }
  return undefined;
}

function compile(rules: readonly PathVisibility[]): readonly CompiledRule[] {
  let compiled = compiledRules.get(rules);
  if (compiled === undefined) {
    compiled = rules.map((rule) => ({
      prefix: normalizeRequestPath(encodeNonAscii(rule.path)),
      visibility: rule.visibility,
    }));
    compiledRules.set(rules, compiled);
  }
  return compiled;
}

/**
 * The canonical form paths are compared in. In order:
 * 1. the query (from the first `?`) is dropped;
 * 2. every percent-encoded ASCII octet is decoded (not only RFC 3986 unreserved characters: `%2F` and
 *    `%5C` become separators too, since some upstreams decode them before routing); non-ASCII octets
 *    stay encoded; decoding happens once (`%252F` stays `%2f`);
 * 3. `\` is a separator (WHATWG URL parsing, which Node servers use, treats it as `/`);
 * 4. empty segments collapse (`//admin` → `/admin`), `.` and `..` are resolved (RFC 3986 §5.2.4,
 *    never above the root);
 * 5. the result is lower-cased and starts with exactly one `/`; a trailing `/` (or a final `.`/`..`
 *    segment) is kept as a trailing `/`.
 */
export function normalizeRequestPath(path: string): string {
  const q = path.indexOf('?');
  const pathOnly = q === -1 ? path : path.slice(0, q);
  if (isAlreadyNormal(pathOnly)) return pathOnly.toLowerCase();
  const decoded = decodeAscii(pathOnly);
  const segments: string[] = [];
  let trailingSlash = false;
  for (const segment of decoded.split('/')) {
    trailingSlash = false;
    if (segment === '') {
      trailingSlash = true;
    } else if (segment === '.') {
      trailingSlash = true;
    } else if (segment === '..') {
      segments.pop();
      trailingSlash = true;
    } else {
      segments.push(segment);
    }
  }
  if (segments.length === 0) return '/';
  return `/${segments.join('/')}${trailingSlash ? '/' : ''}`.toLowerCase();
}

/** The common case, checked in one scan: starts with `/`, no `%`, `\`, empty, `.` or `..` segment. */
function isAlreadyNormal(path: string): boolean {
  if (path.charCodeAt(0) !== 47 /* / */) return false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 /* % */ || c === 92 /* \ */) return false;
    if (c === 47 && i + 1 < path.length) {
      const next = path.charCodeAt(i + 1);
      if (next === 47) return false;
      if (next === 46 /* . */) {
        const after = path.charCodeAt(i + 2);
        if (Number.isNaN(after) || after === 47) return false;
        if (after === 46 && (i + 3 === path.length || path.charCodeAt(i + 3) === 47)) return false;
      }
    }
  }
  return true;
}

function decodeAscii(path: string): string {
  if (!path.includes('%') && !path.includes('\\')) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i] as string;
    if (c === '%' && i + 2 < path.length && isHex(path.charCodeAt(i + 1)) && isHex(path.charCodeAt(i + 2))) {
      const byte = Number.parseInt(path.slice(i + 1, i + 3), 16);
      if (byte < 0x80) {
        out += byte === 0x5c ? '/' : String.fromCharCode(byte);
        i += 2;
        continue;
      }
    }
    out += c === '\\' ? '/' : c;
  }
  return out;
}

function isHex(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}

/** A prefix written with non-ASCII characters matches the percent-encoded form clients send. */
function encodeNonAscii(path: string): string {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(path) ? path.replace(/[^\x00-\x7f]+/g, (s) => encodeURIComponent(s)) : path;
}
