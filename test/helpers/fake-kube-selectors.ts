/**
 * Kubernetes label selectors as the API server reads `?labelSelector=`: comma-separated requirements,
 * each `key`, `!key`, `key=value`, `key==value`, `key!=value`, `key in (a,b)` or `key notin (a,b)`.
 * An empty selector matches everything. Throws on a requirement it cannot parse (the server answers 400).
 */
export function matchesSelector(
  labels: Readonly<Record<string, string>> | undefined,
  selector: string,
): boolean {
  const have = labels ?? {};
  return splitRequirements(selector).every((requirement) => matches(have, requirement));
}

function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function matches(labels: Readonly<Record<string, string>>, requirement: string): boolean {
  const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(requirement);
  if (set !== null) {
    const [, key = '', operator, values = ''] = set;
    const inSet = values
      .split(',')
      .map((v) => v.trim())
      .includes(labels[key] ?? '\0');
    return operator === 'in' ? inSet : !inSet;
  }
  const comparison = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)$/.exec(requirement);
  if (comparison !== null) {
    const [, key = '', operator, value] = comparison;
    return operator === '!=' ? labels[key] !== value : labels[key] === value;
  }
  const exists = /^(!?)([^\s!=()]+)$/.exec(requirement);
  if (exists !== null) {
    const [, not, key = ''] = exists;
    return not === '!' ? !(key in labels) : key in labels;
  }
  throw new Error(`unable to parse requirement: ${requirement}`);
}
