import type { StoreOp } from './store-ops.js';

/** Returns why `op` is invalid, or `undefined`. Checked before anything reaches the database. */
export function validateOp(op: StoreOp): string | undefined {
  const texts: [string, unknown][] = [];
  const times: [string, unknown][] = [];
  if ('queue' in op) texts.push(['queue', op.queue]);
  if ('id' in op) texts.push(['id', op.id]);
  if ('leaseToken' in op) texts.push(['leaseToken', op.leaseToken]);
  switch (op.type) {
    case 'enqueue': {
      const { element } = op;
      texts.push(['element.id', element.id]);
      times.push(['element.enqueuedAtMs', element.enqueuedAtMs]);
      if (!(element.payload instanceof Uint8Array)) return 'element.payload must be a Uint8Array';
      if (!isPolicy(element.policy)) return 'element.policy must be a retry policy';
      break;
    }
    case 'lease':
      texts.push(['owner', op.options.owner]);
      times.push(['nowMs', op.options.nowMs], ['leaseMs', op.options.leaseMs]);
      if (!Number.isInteger(op.options.max) || op.options.max < 1) return 'max must be an integer ≥ 1';
      break;
    case 'retryLater':
      times.push(['notBeforeMs', op.notBeforeMs], ['endedAtMs', op.end.endedAtMs]);
      break;
    case 'deadLetter':
      times.push(['endedAtMs', op.end.endedAtMs]);
      break;
    case 'extendLease':
      times.push(['nowMs', op.nowMs], ['leaseMs', op.leaseMs]);
      break;
    case 'recordActivity':
      texts.push(['name', op.name]);
      times.push(['atMs', op.atMs]);
      break;
    case 'getValue':
    case 'setValue':
    case 'deleteValue':
      texts.push(['key', op.key]);
      if (op.type === 'getValue') times.push(['nowMs', op.nowMs]);
      if (op.type === 'setValue' && !(op.value instanceof Uint8Array)) return 'value must be a Uint8Array';
      if (op.type === 'setValue' && op.expiresAtMs !== null) times.push(['expiresAtMs', op.expiresAtMs]);
      break;
    case 'deleteExpiredValues':
      times.push(['nowMs', op.nowMs]);
      break;
    case 'deadLetters':
      if (!Number.isInteger(op.limit) || op.limit < 1) return 'limit must be an integer ≥ 1';
      break;
    default:
      break;
  }
  const text = texts.find(([, v]) => typeof v !== 'string' || v.length === 0);
  if (text !== undefined) return `${text[0]} must be a non-empty string`;
  const time = times.find(([, v]) => typeof v !== 'number' || !Number.isFinite(v) || v < 0);
  if (time !== undefined) return `${time[0]} must be a finite number ≥ 0`;
  return undefined;
}

function isPolicy(policy: unknown): boolean {
  if (typeof policy !== 'object' || policy === null) return false;
  const p = policy as Record<string, unknown>;
  return (
    typeof p.httpTimeoutSeconds === 'number' &&
    Array.isArray(p.timeoutRetriesSeconds) &&
    p.timeoutRetriesSeconds.every((s) => typeof s === 'number') &&
    Array.isArray(p.httpStatusRetries) &&
    p.httpStatusRetries.every((s) => typeof s === 'number')
  );
}
