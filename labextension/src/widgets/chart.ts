/** Cost per model over the last 7 or 30 days: stacked columns drawn as SVG. */
import { chartData } from '../chartdata';
import { h, s } from '../dom';
import { formatUSD } from '../format';
import { SummaryModel } from '../models';
import { Section } from './section';

const WIDTH = 260;
const HEIGHT = 90;
const SERIES = 6;

export class CostChartSection extends Section {
  constructor(
    private readonly model: SummaryModel,
    private days: 7 | 30 = 7
  ) {
    super('Cost per model', 'qlayer-chart');
    model.changed.connect(() => this.update(), this);
  }

  setDays(days: 7 | 30): void {
    this.days = days;
    this.update();
  }

  protected render(): (Node | string)[] {
    const summary = this.model.data;
    const toggle = h('div', { class: 'qlayer-chart-toggle' });
    for (const d of [7, 30] as const) {
      const b = h(
        'button',
        {
          type: 'button',
          class: `qlayer-chart-days${d === this.days ? ' qlayer-mod-active' : ''}`,
          'aria-pressed': d === this.days ? 'true' : 'false'
        },
        `${d} days`
      );
      b.addEventListener('click', () => this.setDays(d));
      toggle.appendChild(b);
    }
    if (summary === null) {
      return [toggle, h('div', { class: 'qlayer-empty' }, 'Loading…')];
    }
    const today = (summary.now || new Date().toISOString()).slice(0, 10);
    const data = chartData(summary.cost_by_model, this.days, today);
    if (data.models.length === 0) {
      return [toggle, h('div', { class: 'qlayer-empty' }, `No spend in the last ${this.days} days.`)];
    }
    const n = data.days.length;
    const slot = WIDTH / n;
    const barW = Math.max(2, slot * 0.7);
    const svg = s('svg', {
      class: 'qlayer-chart-svg',
      viewBox: `0 0 ${WIDTH} ${HEIGHT + 14}`,
      role: 'img',
      'aria-label': `Cost per model over the last ${this.days} days`
    });
    svg.appendChild(s('line', { x1: 0, x2: WIDTH, y1: HEIGHT, y2: HEIGHT, class: 'qlayer-axis' }));
    data.days.forEach((day, i) => {
      let y = HEIGHT;
      data.models.forEach((model, m) => {
        const v = data.cost[m][i];
        if (v <= 0 || data.max <= 0) {
          return;
        }
        const hgt = (v / data.max) * (HEIGHT - 4);
        y -= hgt;
        svg.appendChild(
          s(
            'rect',
            {
              x: (i * slot + (slot - barW) / 2).toFixed(2),
              y: y.toFixed(2),
              width: barW.toFixed(2),
              height: Math.max(0.5, hgt).toFixed(2),
              class: `qlayer-series-${m % SERIES}`
            },
            s('title', {}, `${day} · ${model}: ${formatUSD(v)}`)
          )
        );
      });
    });
    for (const i of [0, n - 1]) {
      svg.appendChild(
        s(
          'text',
          {
            x: i === 0 ? 0 : WIDTH,
            y: HEIGHT + 12,
            'text-anchor': i === 0 ? 'start' : 'end',
            class: 'qlayer-axis-label'
          },
          data.days[i].slice(5)
        )
      );
    }
    svg.appendChild(
      s('text', { x: 0, y: 9, class: 'qlayer-axis-label' }, `max ${formatUSD(data.max)}/day`)
    );
    const legend = h(
      'ul',
      { class: 'qlayer-legend' },
      ...data.models.map((model, m) =>
        h(
          'li',
          {},
          h('span', { class: `qlayer-swatch qlayer-series-${m % SERIES}` }),
          h('span', { class: 'qlayer-legend-model' }, model),
          h('span', { class: 'qlayer-legend-cost' }, formatUSD(data.totalByModel[m]))
        )
      )
    );
    return [toggle, svg as unknown as Node, legend];
  }
}
