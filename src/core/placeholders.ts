/**
 * Expands `{port}` and `{replica}` in one pass (manifest commands, environment and annotations are
 * written once and expanded per replica). Other braces are left alone.
 */
export function expandPlaceholders(
  value: string,
  vars: { readonly port: number; readonly replica: number },
): string {
  return value.replace(/\{(port|replica)\}/g, (_match, name: 'port' | 'replica') => String(vars[name]));
}
