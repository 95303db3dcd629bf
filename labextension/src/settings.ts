/** The sidebar's settings (schema/plugin.json), read with defaults and bounds. */

export const SECTIONS = ['jobs', 'spend', 'chart', 'calls', 'health'] as const;
export type SectionName = (typeof SECTIONS)[number];

export interface ISidebarSettings {
  pollIntervalMs: number;
  statusIntervalMs: number;
  callsLimit: number;
  chartDays: 7 | 30;
  sections: Record<SectionName, boolean>;
}

export const DEFAULT_SETTINGS: ISidebarSettings = {
  pollIntervalMs: 1000,
  statusIntervalMs: 10000,
  callsLimit: 50,
  chartDays: 7,
  sections: { jobs: true, spend: true, chart: true, calls: true, health: true }
};

export function readSettings(composite: Partial<Record<string, unknown>>): ISidebarSettings {
  const num = (v: unknown, d: number, min: number) =>
    typeof v === 'number' && Number.isFinite(v) ? Math.max(min, v) : d;
  const sections = { ...DEFAULT_SETTINGS.sections };
  const given = (composite.sections ?? {}) as Record<string, unknown>;
  for (const name of SECTIONS) {
    if (typeof given[name] === 'boolean') {
      sections[name] = given[name] as boolean;
    }
  }
  return {
    pollIntervalMs: num(composite.pollIntervalMs, DEFAULT_SETTINGS.pollIntervalMs, 250),
    statusIntervalMs: num(composite.statusIntervalMs, DEFAULT_SETTINGS.statusIntervalMs, 1000),
    callsLimit: Math.round(num(composite.callsLimit, DEFAULT_SETTINGS.callsLimit, 1)),
    chartDays: composite.chartDays === 30 ? 30 : 7,
    sections
  };
}

