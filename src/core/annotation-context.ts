import type { AnnotationProblem } from './annotation-types.js';

/** Every SlimFaas annotation key starts with this. */
export const PREFIX = 'SlimFaas/';

export type Json = Record<string, unknown>;

/** Collects every problem and warning, so one pass reports them all. */
export interface Context {
  readonly annotations: Readonly<Record<string, string>>;
  readonly problems: AnnotationProblem[];
  readonly warnings: AnnotationProblem[];
}

export function problem(ctx: Context, key: string, value: string, message: string): void {
  ctx.problems.push({ key, value, message });
}

export function read(ctx: Context, name: string): string | undefined {
  const key = PREFIX + name;
  return Object.hasOwn(ctx.annotations, key) ? ctx.annotations[key] : undefined;
}

/** The known name closest to `word` (case-insensitive edit distance), when close enough to be a typo. */
export function nearest(word: string, known: readonly string[]): string | undefined {
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
