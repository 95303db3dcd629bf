/** The status-bar item: today's spend and the tightest budget left; a click opens the panel. */
import { Widget } from '@lumino/widgets';

import { h, replaceChildren } from '../dom';
import { formatUSD, tightestBudget } from '../format';
import { SummaryModel } from '../models';

export class SpendStatus extends Widget {
  constructor(
    private readonly model: SummaryModel,
    onClick: () => void
  ) {
    super();
    this.addClass('qlayer-status');
    this.node.title = 'quantumlayer: open the sidebar';
    this.node.addEventListener('click', onClick);
    model.changed.connect(() => this.render(), this);
    this.render();
  }

  private render(): void {
    const s = this.model.data;
    if (s === null) {
      replaceChildren(
        this.node,
        h('span', { class: 'qlayer-status-text' }, this.model.error ? 'qlayer: offline' : 'qlayer')
      );
      this.node.dataset.state = this.model.error ? 'error' : 'loading';
      return;
    }
    const tight = tightestBudget(s.budgets);
    const parts = [`qlayer ${formatUSD(s.spend.today_usd)} today`];
    if (tight) {
      parts.push(`${formatUSD(tight.left_usd)} left (${tight.budget.name})`);
    }
    this.node.dataset.state = this.model.error ? 'error' : 'ok';
    replaceChildren(this.node, h('span', { class: 'qlayer-status-text' }, parts.join(' · ')));
  }
}
