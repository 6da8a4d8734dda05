import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { parseCidr, type Cidr } from '../core/caller.js';

// The value types and parsers of the settings table (read-config.ts): each turns the raw text of one
// environment variable into a value, or says what was expected.

/** A parsed setting value, or why the raw text is not acceptable ("expected …"). */
export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly expected: string };

export interface Setting<T> {
  /** The environment variable. */
  readonly env: string;
  /** The raw default, as it would be written in the environment (docs show it as is). */
  readonly default: string;
  readonly description: string;
  readonly parse: (raw: string) => Parsed<T>;
  /**
   * SlimFaas's other names for the same setting, same unit: the current version's .NET form
   * (`Section__Key`) and the old version's name. Accepted like `env`; two names set to different
   * values are an error.
   */
  readonly aliases?: readonly string[];
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const REQUEST_LOG_LEVELS = ['info', 'debug', 'off'] as const;

export const oneOf =
  <const T extends string>(values: readonly T[]) =>
  (raw: string): Parsed<T> => {
    const value = values.find((candidate) => candidate === raw.toLowerCase());
    return value === undefined ? { ok: false, expected: `one of ${values.join(', ')}` } : { ok: true, value };
  };

export const integer =
  (min: number) =>
  (raw: string): Parsed<number> => {
    const value = Number(raw);
    return /^\d+$/.test(raw) && Number.isSafeInteger(value) && value >= min
      ? { ok: true, value }
      : { ok: false, expected: `an integer ≥ ${min}` };
  };

export const integerBetween =
  (min: number, max: number) =>
  (raw: string): Parsed<number> => {
    const parsed = integer(min)(raw);
    return parsed.ok && parsed.value <= max
      ? parsed
      : { ok: false, expected: `an integer from ${min} to ${max}` };
  };

export const boolean = (raw: string): Parsed<boolean> => {
  const lower = raw.toLowerCase();
  return lower === 'true' || lower === 'false'
    ? { ok: true, value: lower === 'true' }
    : { ok: false, expected: 'true or false' };
};

export const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
export const host = (raw: string): Parsed<string> =>
  isIP(raw) !== 0 || HOSTNAME.test(raw)
    ? { ok: true, value: raw }
    : { ok: false, expected: 'an IP address or a host name' };

/** A comma-separated list of CIDRs (`10.0.0.0/8,192.168.1.7`); a bare address is a /32 or /128. */
/** A comma-separated list of IP addresses (possibly empty). */
export const optionalIpList = (raw: string): Parsed<readonly string[]> => {
  const ips = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return ips.every((ip) => isIP(ip) !== 0)
    ? { ok: true, value: ips }
    : { ok: false, expected: 'IP addresses separated by ","' };
};

export const cidrList = (raw: string): Parsed<readonly Cidr[]> => {
  const cidrs: Cidr[] = [];
  for (const item of raw.split(',')) {
    if (item.trim() === '') continue;
    const cidr = parseCidr(item);
    if (cidr === undefined)
      return { ok: false, expected: 'a comma-separated list of CIDRs such as 10.0.0.0/8' };
    cidrs.push(cidr);
  }
  return { ok: true, value: cidrs };
};

/**
 * `evt=>http://a;http://b,evt2=>http://c` (OLD SlimFaas's `SLIMFAAS_SUBSCRIBE_EVENTS`): event name →
 * external subscriber URLs (absolute http/https). An event listed twice gets the URLs of both entries.
 */
export const subscribeEvents = (raw: string): Parsed<ReadonlyMap<string, readonly string[]>> => {
  const expected = 'entries "event=>http://host/path;http://other" separated by ","';
  const map = new Map<string, string[]>();
  if (raw === '') return { ok: true, value: map };
  for (const entry of raw.split(',')) {
    const arrow = entry.indexOf('=>');
    const event = arrow === -1 ? '' : entry.slice(0, arrow).trim();
    const urls =
      arrow === -1
        ? []
        : entry
            .slice(arrow + 2)
            .split(';')
            .map((url) => url.trim());
    if (event === '' || urls.length === 0 || !urls.every(isHttpUrl)) return { ok: false, expected };
    map.set(event, [...(map.get(event) ?? []), ...urls]);
  }
  return { ok: true, value: map };
};

export function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hash === '';
}

/**
 * A function URL template (`BASE_FUNCTION_URL`, `BASE_FUNCTION_POD_URL`): an http(s) URL once
 * SlimFaas's placeholders `{pod_ip}`, `{pod_port}`, `{pod_port_N}`, `{function_name}`, `{namespace}`
 * are expanded. Unknown placeholders are refused rather than sent to a function literally.
 */
export const urlTemplate = (raw: string): Parsed<string> => {
  const expanded = raw.replace(
    /\{(pod_ip|pod_port|pod_port_\d+|function_name|namespace)\}/g,
    (_m, name: string) => (name === 'pod_ip' ? '10.0.0.1' : name.startsWith('pod_port') ? '8080' : 'name'),
  );
  return !expanded.includes('{') && isHttpUrl(expanded)
    ? { ok: true, value: raw }
    : {
        ok: false,
        expected:
          'an http(s) URL with the placeholders {pod_ip}, {pod_port}, {pod_port_N}, {function_name}, {namespace}',
      };
};

/** `5000` or `5000,5001`: the ports SlimFaas listens on (0 = any free port). */
export const ports = (raw: string): Parsed<readonly number[]> => {
  const values = raw.split(',').map((part) => part.trim());
  const parsed = values.map(Number);
  return values.length > 0 && values.every((v, i) => /^\d+$/.test(v) && (parsed[i] ?? -1) <= 65535)
    ? { ok: true, value: Object.freeze(parsed) }
    : { ok: false, expected: 'comma-separated ports (0–65535)' };
};

/** One port, 0–65535 (0 = any free port). */
export const port = (raw: string): Parsed<number> =>
  /^\d{1,5}$/.test(raw) && Number(raw) <= 65535
    ? { ok: true, value: Number(raw) }
    : { ok: false, expected: 'a port (0–65535)' };

/** Empty (the service account's or the kubeconfig context's namespace) or a namespace name (DNS-1123 label). */
export const optionalNamespace = (raw: string): Parsed<string> =>
  raw === '' || /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(raw)
    ? { ok: true, value: raw }
    : { ok: false, expected: 'a namespace name (lowercase DNS label)' };

/** Empty (none) or an absolute path: a relative one would depend on the working directory of the pod. */
export const optionalAbsolutePath = (raw: string): Parsed<string> =>
  raw === '' || isAbsolute(raw)
    ? { ok: true, value: raw }
    : { ok: false, expected: 'an absolute directory path' };

/** Where async state lives (`SLIMFAAS_STORE`): the embedded SQLite store, or a NATS JetStream server/cluster. */
export type StoreSetting =
  { readonly kind: 'embedded' } | { readonly kind: 'nats'; readonly servers: readonly string[] };

/** `embedded`, or `nats://host:port` URLs separated by "," (the servers of one NATS cluster). */
export const store = (raw: string): Parsed<StoreSetting> => {
  if (raw.toLowerCase() === 'embedded') return { ok: true, value: Object.freeze({ kind: 'embedded' }) };
  const servers = raw.split(',').map((item) => item.trim());
  return servers.length > 0 && servers.every(isNatsUrl)
    ? { ok: true, value: Object.freeze({ kind: 'nats', servers: Object.freeze(servers) }) }
    : { ok: false, expected: 'embedded or nats://host:port URLs separated by ","' };
};

export function isNatsUrl(text: string): boolean {
  if (!/^nats:\/\/[^/?#@\s]+:\d+$/i.test(text) || !URL.canParse(text)) return false;
  const url = new URL(text);
  return url.hostname !== '' && url.port !== '' && Number(url.port) > 0;
}

/** Empty, or an absolute http(s) URL (an OTLP collector). */
export const optionalHttpUrl = (raw: string): Parsed<string> =>
  raw === '' || isHttpUrl(raw) ? { ok: true, value: raw } : { ok: false, expected: 'an http(s) URL' };
