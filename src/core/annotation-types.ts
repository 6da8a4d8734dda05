import type { FunctionSpec } from './function-spec.js';

/** One annotation that could not be used, named by key and value for the single log line. */
export interface AnnotationProblem {
  readonly key: string;
  readonly value: string;
  readonly message: string;
}

export type AnnotationParseResult =
  | { readonly ok: true; readonly spec: FunctionSpec; readonly warnings: readonly AnnotationProblem[] }
  | { readonly ok: false; readonly problems: readonly AnnotationProblem[] };
