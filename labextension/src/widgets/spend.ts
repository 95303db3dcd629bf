/** Spend today and this month, and one gauge per budget (amber past the soft limit, red at a hard one). */
import { h } from '../dom';
import { budgetLevel, formatPercent, formatUSD } from '../format';
import { SummaryModel } from '../models';
import { IBudget } from '../types';
import { Section } from './section';

export class SpendSection extends Section {
  constructor(private readonly model: SummaryModel) {
    super('Spend', 'qlayer-spend');
    model.changed.connect(() => this.update(), this);
  }

  protected render(): (Node | string)[] {
    const s = this.model.data;
    if (s === null) {
      return [h('div', { class: 'qlayer-empty' }, 'Loading…')];
    }
    const est = s.estimated_cost_today ? ' (some estimated)' : '';
    const figures = h(
      'div',
      { class: 'qlayer-figures' },
      figure('Today', formatUSD(s.spend.today_usd) + est, 'qlayer-spend-today', s.spend.today_usd),
      figure('This month', formatUSD(s.spend.month_usd), 'qlayer-spend-month', s.spend.month_usd),
      figure('Calls today', String(s.calls_today), 'qlayer-calls-today', s.calls_today),
      figure(
        'Cache hits',
        `${s.cache_hits_today} (saved ${formatUSD(s.cache_saved_usd_today)})`,
        'qlayer-cache-today',
        s.cache_hits_today
      )
    );
    const gauges = s.budgets.length
      ? s.budgets.map(gauge)
      : [h('div', { class: 'qlayer-empty' }, 'No budget configured for this project.')];
    return [
      h('div', { class: 'qlayer-scope' }, `${s.project} · ${s.user}`),
      figures,
      ...gauges
    ];
  }
}

function figure(label: string, text: string, cls: string, value: number): HTMLElement {
  return h(
    'div',
    { class: `qlayer-figure ${cls}`, 'data-value': value },
    h('div', { class: 'qlayer-figure-label' }, label),
    h('div', { class: 'qlayer-figure-value' }, text)
  );
}

function gauge(b: IBudget): HTMLElement {
  const level = budgetLevel(b);
  const limit = b.limit_usd > 0 ? b.limit_usd : 1;
  const spent = Math.min(1, b.spent_usd / limit);
  const reserved = Math.min(1 - spent, b.reserved_usd / limit);
  const soft = b.soft_limit_usd !== null ? Math.min(1, b.soft_limit_usd / limit) : null;
  const title =
    `${b.name} (${b.scope}, ${b.period}): spent ${formatUSD(b.spent_usd)}` +
    (b.reserved_usd ? `, reserved ${formatUSD(b.reserved_usd)}` : '') +
    ` of ${formatUSD(b.limit_usd)}` +
    (b.soft_limit_usd !== null ? `, soft limit ${formatUSD(b.soft_limit_usd)}` : '') +
    (b.hard ? ', hard limit' : '') +
    (b.resets ? `; resets ${b.resets}` : '');
  return h(
    'div',
    { class: `qlayer-budget qlayer-level-${level}`, 'data-level': level, title },
    h(
      'div',
      { class: 'qlayer-budget-head' },
      h('span', { class: 'qlayer-budget-name' }, `${b.name} · ${b.period}`),
      h(
        'span',
        { class: 'qlayer-budget-figure' },
        `${formatUSD(b.spent_usd)} / ${formatUSD(b.limit_usd)} (${formatPercent(b.fraction)})`
      )
    ),
    h(
      'div',
      { class: 'qlayer-gauge' },
      h('div', { class: 'qlayer-gauge-spent', style: `width: ${(spent * 100).toFixed(1)}%` }),
      h('div', {
        class: 'qlayer-gauge-reserved',
        style: `width: ${(reserved * 100).toFixed(1)}%`
      }),
      soft !== null
        ? h('div', { class: 'qlayer-gauge-soft', style: `left: ${(soft * 100).toFixed(1)}%` })
        : null
    )
  );
}
