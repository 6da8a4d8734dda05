/**
 * A function's configuration, parsed once from its `SlimFaas/*` annotations (reference §2).
 * Every field is already validated; defaults are applied. Frozen after parsing.
 */
export type Visibility = 'Public' | 'Private';
export type Trust = 'Trusted' | 'Untrusted';

/** One retry policy section of `SlimFaas/Configuration` (times in seconds, as in SlimFaas). */
export interface RetryPolicy {
  readonly httpTimeoutSeconds: number;
  /** Delays in seconds before retry 1, 2, …; its length is the maximum number of retries. */
  readonly timeoutRetriesSeconds: readonly number[];
  readonly httpStatusRetries: readonly number[];
}

export interface FunctionConfiguration {
  readonly defaultSync: { readonly httpTimeoutSeconds: number };
  readonly defaultAsync: RetryPolicy;
  readonly defaultPublish: RetryPolicy;
}

/** `SlimFaas/Schedule`: times are `H:mm`/`HH:mm` local to `timeZoneId` (an IANA zone). */
export interface FunctionSchedule {
  readonly timeZoneId: string;
  readonly wakeUp: readonly ClockTime[];
  readonly scaleDownTimeout: readonly { readonly time: ClockTime; readonly valueSeconds: number }[];
}

/** A local wall-clock time of day. */
export interface ClockTime {
  readonly hour: number;
  readonly minute: number;
}

export interface EventSubscription {
  readonly name: string;
  readonly visibility: Visibility;
}

export interface PathVisibility {
  /** The prefix as written, normalised to start with exactly one `/`. */
  readonly path: string;
  readonly visibility: Visibility;
}

export interface FunctionSpec {
  readonly name: string;
  readonly replicasMin: number;
  readonly replicasAtStart: number;
  readonly timeoutSecondBeforeSetReplicasMin: number;
  readonly numberParallelRequest: number;
  readonly numberParallelRequestPerPod: number;
  readonly replicasStartAsSoonAsOneFunctionRetrieveARequest: boolean;
  readonly dependsOn: readonly string[];
  readonly schedule: FunctionSchedule | undefined;
  readonly subscribeEvents: readonly EventSubscription[];
  readonly defaultVisibility: Visibility;
  readonly pathsStartWithVisibility: readonly PathVisibility[];
  readonly defaultTrust: Trust;
  readonly configuration: FunctionConfiguration;
}

export const DEFAULT_CONFIGURATION: FunctionConfiguration = Object.freeze({
  defaultSync: Object.freeze({ httpTimeoutSeconds: 120 }),
  defaultAsync: Object.freeze({
    httpTimeoutSeconds: 120,
    timeoutRetriesSeconds: Object.freeze([2, 4, 8]),
    httpStatusRetries: Object.freeze([500, 502, 503]),
  }),
  defaultPublish: Object.freeze({
    httpTimeoutSeconds: 120,
    timeoutRetriesSeconds: Object.freeze([2, 4, 8]),
    httpStatusRetries: Object.freeze([500, 502, 503]),
  }),
});

/**
 * Function names reach URL templates and process names, so they are validated first:
 * a DNS-1123 label (what a Kubernetes Deployment name can be, without dots).
 */
export const FUNCTION_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isValidFunctionName(name: string): boolean {
  return FUNCTION_NAME_PATTERN.test(name);
}
