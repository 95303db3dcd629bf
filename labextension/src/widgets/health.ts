/** Model health per deployment: latency, error rate, rate limits, circuit, last error. */
import { h } from '../dom';
import { formatDuration, formatPercent } from '../format';
import { HealthModel } from '../models';
import { Section } from './section';

export class HealthSection extends Section {
  constructor(private readonly model: HealthModel) {
    super('Model health', 'qlayer-health');
    model.changed.connect(() => this.update(), this);
  }

  protected render(): (Node | string)[] {
    const models = this.model.data;
    if (models === null) {
      return [h('div', { class: 'qlayer-empty' }, 'Loading…')];
    }
    if (models.length === 0) {
      return [h('div', { class: 'qlayer-empty' }, 'No call in the last hour.')];
    }
    return [
      h(
        'table',
        { class: 'qlayer-health-table' },
        h(
          'tr',
          {},
          h('th', {}, 'Deployment'),
          h('th', {}, 'p50'),
          h('th', {}, 'p90'),
          h('th', {}, 'Errors'),
          h('th', {}, '429')
        ),
        ...models.map(m =>
          h(
            'tr',
            {
              class: `qlayer-circuit-${m.circuit}`,
              'data-deployment': m.deployment,
              title:
                `${m.model} · circuit ${m.circuit} · ${m.calls} calls` +
                (m.last_error ? `\nLast error: ${m.last_error}` : '') +
                (m.last_error_hint ? `\n${m.last_error_hint}` : '')
            },
            h('td', {}, h('span', { class: 'qlayer-circuit-dot' }), m.deployment),
            h('td', {}, formatDuration(m.p50_ms)),
            h('td', {}, formatDuration(m.p90_ms)),
            h('td', {}, formatPercent(m.error_rate)),
            h('td', {}, String(m.rate_limited))
          )
        )
      )
    ];
  }
}
