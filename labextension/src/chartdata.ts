/** The data of the cost-per-model chart: one column per day, stacked by model. */
import { IModelDayCost } from './types';

export interface IChartData {
  days: string[];
  models: string[];
  /** cost[modelIndex][dayIndex] in USD */
  cost: number[][];
  totals: number[];
  max: number;
  totalByModel: number[];
}

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** The last `days` days up to `today` (YYYY-MM-DD, UTC), models sorted by total cost. */
export function chartData(rows: IModelDayCost[], days: number, today: string): IChartData {
  const end = new Date(`${today}T00:00:00Z`);
  const dayList: string[] = [];
  for (let i = days - 1; i >= 0; i--) {
    dayList.push(isoDay(new Date(end.getTime() - i * 86400000)));
  }
  const index = new Map(dayList.map((d, i) => [d, i]));
  const perModel = new Map<string, number[]>();
  for (const row of rows) {
    const i = index.get(row.day);
    if (i === undefined) {
      continue;
    }
    let series = perModel.get(row.model);
    if (!series) {
      series = dayList.map(() => 0);
      perModel.set(row.model, series);
    }
    series[i] += row.cost_usd ?? 0;
  }
  const models = [...perModel.keys()].sort((a, b) => {
    const sa = perModel.get(a)!.reduce((x, y) => x + y, 0);
    const sb = perModel.get(b)!.reduce((x, y) => x + y, 0);
    return sb - sa || a.localeCompare(b);
  });
  const cost = models.map(m => perModel.get(m)!);
  const totals = dayList.map((_, i) => cost.reduce((sum, series) => sum + series[i], 0));
  return {
    days: dayList,
    models,
    cost,
    totals,
    max: Math.max(0, ...totals),
    totalByModel: cost.map(series => series.reduce((x, y) => x + y, 0))
  };
}
