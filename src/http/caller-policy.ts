import type { IncomingMessage } from 'node:http';
import { isInternalCaller, type Cidr } from '../core/caller.js';

/**
 * How a listener classifies its callers: true when `req` comes from an internal caller (one allowed to
 * reach private functions, paths and events). Each listener has one. It is only consulted when the
 * resource is private, so public calls never pay for it.
 */
export type CallerPolicy = (req: IncomingMessage) => boolean;

/** The public entrypoint in local mode: nothing proves a caller internal, since any client can forge anything. */
export const EVERY_CALLER_EXTERNAL: CallerPolicy = () => false;

/** The loopback internal listener of local mode: only processes told its URL can reach it (docs/security.md). */
export const EVERY_CALLER_INTERNAL: CallerPolicy = () => true;

/**
 * Classification by IP (Kubernetes): the peer, or through a trusted proxy the right-most untrusted
 * `X-Forwarded-For` hop, must equal an address of `trustedIps()` (Trusted functions' pods, SlimFaas
 * pods and job pods, in `normalizeIp` form). `trustedIps` is read per request, so topology changes apply.
 */
export function ipCallerPolicy(options: {
  readonly trustedIps: () => ReadonlySet<string>;
  readonly trustedProxies: readonly Cidr[];
}): CallerPolicy {
  return (req) =>
    isInternalCaller({
      remoteAddress: req.socket.remoteAddress,
      forwardedFor: req.headers['x-forwarded-for'],
      trustedIps: options.trustedIps(),
      trustedProxies: options.trustedProxies,
    });
}
