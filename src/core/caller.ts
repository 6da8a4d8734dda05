/**
 * Is a caller internal? Decided by IP address, as in SlimFaas (reference §4.7), without its two flaws:
 * addresses are compared for exact equality (SlimFaas's substring match lets `10.0.0.1` pass for
 * `10.0.0.12`), and `X-Forwarded-For` is believed only when the connection comes from a configured
 * trusted proxy (SlimFaas believes any client's header).
 *
 * Addresses are compared as 16 bytes: IPv4 is held in its IPv4-mapped IPv6 form, so `::ffff:10.0.0.1`
 * and `10.0.0.1` are the same caller.
 */

/** A parsed CIDR block in the 128-bit space (an IPv4 `/n` is stored as `::ffff:0:0/96+n`). */
export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
  /** As written, for logs. */
  readonly text: string;
}

export interface CallerAddresses {
  /** The connection's peer address (`socket.remoteAddress`). */
  readonly remoteAddress: string | undefined;
  /** The `X-Forwarded-For` header(s), as received. */
  readonly forwardedFor: string | readonly string[] | undefined;
  /** Addresses of internal callers, in `normalizeIp` form. */
  readonly trustedIps: ReadonlySet<string>;
  /** Proxies whose `X-Forwarded-For` is believed; they must append the address they received from. */
  readonly trustedProxies: readonly Cidr[];
}

/**
 * True only when the caller provably is one of `trustedIps`. The caller is the peer address, unless the
 * peer is a trusted proxy: then `X-Forwarded-For` is read from the right, skipping trusted proxies, and
 * the first other hop is the caller (hops left of it were written by the client and prove nothing). An
 * unparsable peer or hop makes the caller external.
 */
export function isInternalCaller(addresses: CallerAddresses): boolean {
  const peer = parseIp(addresses.remoteAddress ?? '');
  if (peer === undefined) return false;
  let caller = peer;
  const { trustedProxies, forwardedFor } = addresses;
  if (forwardedFor !== undefined && trustedProxies.length > 0 && inAnyCidr(peer, trustedProxies)) {
    const hops = (typeof forwardedFor === 'string' ? [forwardedFor] : forwardedFor)
      .flatMap((value) => value.split(','))
      .map((hop) => hop.trim())
      .filter((hop) => hop !== '');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parseHop(hops[i] as string);
      if (hop === undefined) return false;
      caller = hop;
      if (!inAnyCidr(hop, trustedProxies)) break;
    }
  }
  return addresses.trustedIps.has(formatIp(caller));
}

/** The canonical text of an address (dotted IPv4, RFC 5952 IPv6), or undefined when it is not one. */
export function normalizeIp(text: string): string | undefined {
  const bytes = parseIp(text);
  return bytes === undefined ? undefined : formatIp(bytes);
}

/** Parses `10.0.0.0/8`, `fd00::/8`, or a bare address (a single-host block). */
export function parseCidr(text: string): Cidr | undefined {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const address = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const bytes = parseIp(address);
  if (bytes === undefined || address.includes('%')) return undefined;
  const ipv4 = !address.includes(':');
  const max = ipv4 ? 32 : 128;
  let length = max;
  if (slash !== -1) {
    const written = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(written) || Number(written) > max) return undefined;
    length = Number(written);
  }
  return { bytes, prefixLength: ipv4 ? 96 + length : length, text: trimmed };
}

export function cidrContains(cidr: Cidr, address: Uint8Array): boolean {
  let bits = cidr.prefixLength;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((cidr.bytes[i] as number) & mask) !== ((address[i] as number) & mask)) return false;
  }
  return true;
}

function inAnyCidr(address: Uint8Array, cidrs: readonly Cidr[]): boolean {
  return cidrs.some((cidr) => cidrContains(cidr, address));
}

/** An `X-Forwarded-For` hop: an address, possibly `1.2.3.4:port` or `[v6]:port`. */
function parseHop(hop: string): Uint8Array | undefined {
  if (hop.startsWith('[')) {
    const end = hop.indexOf(']');
    const rest = hop.slice(end + 1);
    return end === -1 || !(rest === '' || /^:\d+$/.test(rest)) ? undefined : parseIp(hop.slice(1, end));
  }
  const colon = hop.indexOf(':');
  if (colon !== -1 && colon === hop.lastIndexOf(':') && /^:\d+$/.test(hop.slice(colon)))
    return parseIp(hop.slice(0, colon));
  return parseIp(hop);
}

/** 16 bytes for an IPv4 (mapped) or IPv6 address; a `%zone` suffix is ignored. */
export function parseIp(text: string): Uint8Array | undefined {
  const percent = text.indexOf('%');
  const address = percent === -1 ? text : text.slice(0, percent);
  if (!address.includes(':')) {
    const v4 = parseIpv4(address);
    if (v4 === undefined) return undefined;
    const bytes = new Uint8Array(16);
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    bytes.set(v4, 12);
    return bytes;
  }
  return parseIpv6(address);
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const part of parts) {
    // No leading zeros: `010` is octal to some parsers and decimal to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    out.push(Number(part));
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/** `a:b:1.2.3.4` → 16-bit groups (an IPv4 tail counts as two); undefined when malformed. */
function groups(text: string): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
      out.push(Number.parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return out;
}

function formatIp(bytes: Uint8Array): string {
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  // RFC 5952 §4.2: the longest run (≥ 2) of zero groups becomes `::`, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
