/**
 * Header filtering for the proxy. Hop-by-hop fields are removed in both directions (RFC 9110 §7.6.1):
 * `Connection` and every field it names, plus `Proxy-Connection`, `Keep-Alive`, `TE`, `Transfer-Encoding`
 * and `Upgrade`. `Host` is not forwarded: the upstream gets its own authority, and the original is passed
 * in `X-Forwarded-Host` together with `X-Forwarded-For` / `X-Forwarded-Proto`.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'proxy-authenticate',
  'proxy-authorization',
]);

function connectionTokens(value: string | undefined): Set<string> | undefined {
  if (value === undefined || value === '') return undefined;
  const tokens = new Set<string>();
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '' && t !== 'close' && t !== 'keep-alive') tokens.add(t);
  }
  return tokens.size > 0 ? tokens : undefined;
}

export interface ForwardedInfo {
  readonly remoteAddress: string;
  readonly proto: 'http' | 'https';
  readonly extra?: readonly string[] | undefined;
}

/** Builds the upstream request headers (flat `[name, value, …]` list) from Node's `rawHeaders`. */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  connection: string | undefined,
  info: ForwardedInfo,
): string[] {
  const named = connectionTokens(connection);
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) === true) continue;
    switch (lower) {
      case 'host':
        host = value;
        continue;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'x-forwarded-host':
      case 'x-forwarded-proto':
        continue;
    }
    out.push(name, value);
  }
  out.push(
    'x-forwarded-for',
    forwardedFor === undefined ? info.remoteAddress : `${forwardedFor}, ${info.remoteAddress}`,
  );
  if (host !== undefined) out.push('x-forwarded-host', host);
  out.push('x-forwarded-proto', info.proto);
  if (info.extra !== undefined) out.push(...info.extra);
  return out;
}

/**
 * Filters the upstream's response fields (flat `[name, value, …]`) for `res.writeHead`: no hop-by-hop
 * fields, none that its `Connection` field names, and not the upstream's `X-Request-Id` (SlimFaas sends
 * its own in `extra`).
 */
export function downstreamResponseHeaders(
  raw: readonly string[],
  connection: string | undefined,
  extra: readonly string[],
): string[] {
  const out: string[] = [];
  const named = connectionTokens(connection);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    // SlimFaas answers with its own X-Request-Id (in `extra`): a function echoing it must not double it.
    if (HOP_BY_HOP.has(lower) || named?.has(lower) === true || lower === 'x-request-id') continue;
    out.push(name, raw[i + 1] as string);
  }
  for (let i = 0; i < extra.length; i++) out.push(extra[i] as string);
  return out;
}
