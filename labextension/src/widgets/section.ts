/** The base of the panel's sections: a titled block that re-renders when its model changes. */
import { Widget } from '@lumino/widgets';

import { h, replaceChildren } from '../dom';

export abstract class Section extends Widget {
  constructor(title: string, className: string) {
    super();
    this.addClass('qlayer-section');
    this.addClass(className);
    this.header = h('h3', { class: 'qlayer-section-title' }, title);
    this.body = h('div', { class: 'qlayer-section-body' });
    this.node.append(this.header, this.body);
  }

  /** Rebuild the body from the model (only while visible). */
  update(): void {
    super.update();
  }

  protected onUpdateRequest(): void {
    if (!this.isVisible) {
      return;
    }
    replaceChildren(this.body, ...this.render());
  }

  protected onAfterShow(): void {
    this.update();
  }

  protected abstract render(): (Node | string)[];

  protected readonly header: HTMLElement;
  protected readonly body: HTMLElement;
}
