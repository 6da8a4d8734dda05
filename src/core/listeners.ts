/**
 * Calls every listener with `event`. A listener's failure is its own: it must not turn a committed write into a
 * rejection, nor keep the other listeners from hearing of it.
 */
export function notifyAll<T>(listeners: ReadonlySet<(event: T) => void>, event: NoInfer<T>): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch {
      // Ignored on purpose (see above).
    }
  }
}
