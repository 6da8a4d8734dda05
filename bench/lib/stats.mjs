// Small statistics for the benches' own samples (wrk computes its own percentiles).

/** Nearest-rank percentile (p in 0..100) of a non-empty list; with 20 samples p99 is the maximum. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(values) {
  if (values.length === 0) return { n: 0 };
  const sum = values.reduce((total, v) => total + v, 0);
  return {
    n: values.length,
    min: Math.min(...values),
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: Math.max(...values),
    mean: sum / values.length,
  };
}

/** A number for a table: fixed decimals, '—' when missing. */
export function fmt(value, digits = 2) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '—';
}

/** `+0.12` / `−0.05`: added latencies, where a negative value is noise. */
export function fmtSigned(value, digits = 2) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
  return value < 0 ? `−${Math.abs(value).toFixed(digits)}` : `+${value.toFixed(digits)}`;
}
