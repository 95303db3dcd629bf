import { chartData } from '../chartdata';
import { lineDiff } from '../diff';
import { DEFAULT_SETTINGS, readSettings } from '../settings';

describe('chartData', () => {
  it('lays the last N days out as columns, models sorted by cost', () => {
    const data = chartData(
      [
        { model: 'a', day: '2026-01-07', cost_usd: 1, calls: 1 },
        { model: 'b', day: '2026-01-07', cost_usd: 3, calls: 2 },
        { model: 'a', day: '2026-01-05', cost_usd: 0.5, calls: 1 },
        { model: 'a', day: '2025-12-01', cost_usd: 99, calls: 1 }
      ],
      7,
      '2026-01-07'
    );
    expect(data.days).toEqual([
      '2026-01-01',
      '2026-01-02',
      '2026-01-03',
      '2026-01-04',
      '2026-01-05',
      '2026-01-06',
      '2026-01-07'
    ]);
    expect(data.models).toEqual(['b', 'a']);
    expect(data.totals[6]).toBe(4);
    expect(data.max).toBe(4);
    expect(data.totalByModel).toEqual([3, 1.5]);
  });
});

describe('lineDiff', () => {
  it('keeps common lines and marks removed and added ones', () => {
    expect(lineDiff('a\nb\nc', 'a\nB\nc')).toEqual([
      { kind: 'same', text: 'a' },
      { kind: 'del', text: 'b' },
      { kind: 'add', text: 'B' },
      { kind: 'same', text: 'c' }
    ]);
  });

  it('does not count a final newline as a line', () => {
    expect(lineDiff('x = 1/0', 'x = 1\n')).toEqual([
      { kind: 'del', text: 'x = 1/0' },
      { kind: 'add', text: 'x = 1' }
    ]);
  });
});

describe('readSettings', () => {
  it('falls back to defaults and bounds the poll interval', () => {
    expect(readSettings({})).toEqual(DEFAULT_SETTINGS);
    const s = readSettings({ pollIntervalMs: 10, sections: { chart: false }, chartDays: 30 });
    expect(s.pollIntervalMs).toBe(250);
    expect(s.sections.chart).toBe(false);
    expect(s.sections.jobs).toBe(true);
    expect(s.chartDays).toBe(30);
  });
});
