/** The error banner: shown while any endpoint fails, with the server's message and a retry. */
import { Widget } from '@lumino/widgets';

import { h, replaceChildren } from '../dom';
import { formatDuration } from '../format';
import { PollingModel } from '../models';

export class Banner extends Widget {
  constructor(private readonly models: PollingModel<unknown>[]) {
    super();
    this.addClass('qlayer-banner');
    this.node.setAttribute('role', 'alert');
    for (const model of models) {
      model.changed.connect(() => this.render(), this);
    }
    this.render();
  }

  private render(): void {
    const failing = this.models.filter(m => m.error !== null);
    if (failing.length === 0) {
      this.hide();
      return;
    }
    const first = failing[0];
    const next = Math.max(...failing.map(m => m.nextPollMs ?? 0));
    const retry = h('button', { class: 'qlayer-banner-retry jp-mod-styled', type: 'button' }, 'Retry now');
    retry.addEventListener('click', () => failing.forEach(m => m.refresh()));
    replaceChildren(
      this.node,
      h('div', { class: 'qlayer-banner-message' }, first.error!.message),
      h(
        'div',
        { class: 'qlayer-banner-detail' },
        `${failing.length === 1 ? 'One view' : `${failing.length} views`} cannot update` +
          (next > 0 ? `; retrying in ${formatDuration(next)}.` : '.'),
        ' ',
        retry
      )
    );
    this.show();
  }
}
