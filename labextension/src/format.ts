/**
 * Every number the extension shows goes through here: money, durations, tokens, shares.
 */

/** US dollars: "$0.00" for zero, 4 significant decimals below a cent, 2 above. */
export function formatUSD(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return '—';
  }
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value);
  if (abs === 0) {
    return '$0.00';
  }
  if (abs < 0.0001) {
    return `${sign}<$0.0001`;
  }
  if (abs < 0.01) {
    return `${sign}$${abs.toFixed(4)}`;
  }
  if (abs < 1000) {
    return `${sign}$${abs.toFixed(2)}`;
  }
  return `${sign}$${Math.round(abs).toLocaleString('en-US')}`;
}

/** A duration in milliseconds: "850 ms", "1.2 s", "3 min 05 s", "2 h 04 min". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms) || ms < 0) {
    return '—';
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  const s = ms / 1000;
  if (s < 60) {
    return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  }
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) {
    return `${h} h ${String(m).padStart(2, '0')} min`;
  }
  return `${m} min ${String(sec).padStart(2, '0')} s`;
}

/** Seconds (as in a job's eta_s) as a duration. */
export function formatSeconds(s: number | null | undefined): string {
  return s === null || s === undefined ? '—' : formatDuration(s * 1000);
}

/** Token counts, "~" in front when they were estimated rather than counted by the provider. */
export function formatTokens(
  tokensIn: number | null | undefined,
  tokensOut: number | null | undefined,
  estimated: boolean
): string {
  const n = (v: number | null | undefined) =>
    v === null || v === undefined ? '?' : v.toLocaleString('en-US');
  const mark = estimated ? '~' : '';
  return `${mark}${n(tokensIn)} in / ${mark}${n(tokensOut)} out${
    estimated ? ' (estimated)' : ''
  }`;
}

/** A fraction 0..1 as a percentage, clamped for display. */
export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) {
    return '—';
  }
  const pct = fraction * 100;
  return `${pct < 10 && pct > 0 ? pct.toFixed(1) : Math.round(pct)}%`;
}

/** How long ago an ISO time or unix-seconds time was, relative to `now` (ms). */
export function formatAgo(when: string | number, now: number = Date.now()): string {
  const t = typeof when === 'number' ? when * 1000 : Date.parse(when);
  if (Number.isNaN(t)) {
    return '—';
  }
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 5) {
    return 'just now';
  }
  if (s < 60) {
    return `${s} s ago`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ago`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)} h ago`;
  }
  return `${Math.floor(s / 86400)} d ago`;
}

/** Budget state for a gauge: "hard" at or over a hard limit, "soft" past the soft limit. */
export function budgetLevel(b: {
  spent_usd: number;
  reserved_usd: number;
  limit_usd: number;
  soft_limit_usd: number | null;
  hard: boolean;
}): 'ok' | 'soft' | 'hard' {
  const used = b.spent_usd + b.reserved_usd;
  if (b.limit_usd > 0 && used >= b.limit_usd) {
    return b.hard ? 'hard' : 'soft';
  }
  if (b.soft_limit_usd !== null && used >= b.soft_limit_usd) {
    return 'soft';
  }
  return 'ok';
}

/** The budget with the least money left, and how much is left (never below zero). */
export function tightestBudget<
  B extends { spent_usd: number; reserved_usd: number; limit_usd: number }
>(budgets: B[]): { budget: B; left_usd: number } | null {
  let best: { budget: B; left_usd: number } | null = null;
  for (const budget of budgets) {
    if (!(budget.limit_usd > 0)) {
      continue;
    }
    const left = Math.max(0, budget.limit_usd - budget.spent_usd - budget.reserved_usd);
    const share = left / budget.limit_usd;
    if (best === null || share < best.left_usd / best.budget.limit_usd) {
      best = { budget, left_usd: left };
    }
  }
  return best;
}
