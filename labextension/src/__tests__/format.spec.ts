import {
  budgetLevel,
  formatAgo,
  formatDuration,
  formatPercent,
  formatTokens,
  formatUSD,
  tightestBudget
} from '../format';

describe('formatUSD', () => {
  it('shows cents above a cent and four decimals below', () => {
    expect(formatUSD(1.234)).toBe('$1.23');
    expect(formatUSD(0.0042)).toBe('$0.0042');
    expect(formatUSD(0)).toBe('$0.00');
  });

  it('says when an amount is too small to show and when it is unknown', () => {
    expect(formatUSD(0.00001)).toBe('<$0.0001');
    expect(formatUSD(null)).toBe('—');
  });

  it('rounds large amounts with thousands separators', () => {
    expect(formatUSD(12345.6)).toBe('$12,346');
    expect(formatUSD(-2.5)).toBe('-$2.50');
  });
});

describe('formatDuration', () => {
  it('uses ms below a second, s below a minute, then minutes and hours', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(1234)).toBe('1.2 s');
    expect(formatDuration(42000)).toBe('42 s');
    expect(formatDuration(185000)).toBe('3 min 05 s');
    expect(formatDuration(7440000)).toBe('2 h 04 min');
    expect(formatDuration(null)).toBe('—');
  });
});

describe('formatTokens', () => {
  it('marks estimated token counts', () => {
    expect(formatTokens(1200, 34, true)).toBe('~1,200 in / ~34 out (estimated)');
    expect(formatTokens(1200, 34, false)).toBe('1,200 in / 34 out');
  });
});

describe('formatPercent and formatAgo', () => {
  it('formats fractions', () => {
    expect(formatPercent(0.5)).toBe('50%');
    expect(formatPercent(0.042)).toBe('4.2%');
  });

  it('formats ages against a given now', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(formatAgo('2026-01-01T11:59:58Z', now)).toBe('just now');
    expect(formatAgo('2026-01-01T11:50:00Z', now)).toBe('10 min ago');
    expect(formatAgo(now / 1000 - 7200, now)).toBe('2 h ago');
  });
});

describe('budgets', () => {
  const b = (spent: number, reserved: number, limit: number, soft: number | null, hard: boolean) => ({
    spent_usd: spent,
    reserved_usd: reserved,
    limit_usd: limit,
    soft_limit_usd: soft,
    hard
  });

  it('is amber past the soft limit and red at a hard limit', () => {
    expect(budgetLevel(b(1, 0, 10, 8, true))).toBe('ok');
    expect(budgetLevel(b(7, 1.5, 10, 8, true))).toBe('soft');
    expect(budgetLevel(b(10, 0, 10, 8, true))).toBe('hard');
    expect(budgetLevel(b(10, 0, 10, null, false))).toBe('soft');
  });

  it('finds the budget with the smallest share left', () => {
    const day = { name: 'day', ...b(4, 0, 5, null, true) };
    const month = { name: 'month', ...b(10, 0, 100, null, true) };
    const tight = tightestBudget([month, day]);
    expect(tight?.budget.name).toBe('day');
    expect(tight?.left_usd).toBeCloseTo(1);
    expect(tightestBudget([])).toBeNull();
  });
});
