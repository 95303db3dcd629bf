/** The left-area panel: the banner and the sections, in the order the settings give. */
import { LabIcon } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import { Panel } from '@lumino/widgets';

import { SECTIONS, SectionName } from '../settings';
import { CallsModel, HealthModel, JobsModel, SummaryModel } from '../models';
import { Banner } from './banner';
import { CallsSection, ICellOpener } from './calls';
import { CostChartSection } from './chart';
import { HealthSection } from './health';
import { JobsSection } from './jobs';
import { SpendSection } from './spend';


const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">' +
  '<g class="jp-icon3" fill="#616161">' +
  '<path d="M12 2a10 10 0 1 0 6.32 17.75l2.47 2.47 1.41-1.41-2.47-2.47A10 10 0 0 0 12 2zm0 ' +
  '2a8 8 0 1 1 0 16 8 8 0 0 1 0-16z"/>' +
  '<path d="M11 7h2v4h4v2h-6z"/></g></svg>';

export const qlayerIcon = new LabIcon({ name: 'quantumlayer-nb:icon', svgstr: ICON_SVG });

export interface IModels {
  summary: SummaryModel;
  jobs: JobsModel;
  calls: CallsModel;
  health: HealthModel;
}

export class SidebarPanel extends Panel {
  constructor(models: IModels, opener: ICellOpener) {
    super();
    this.id = 'quantumlayer-nb-sidebar';
    this.addClass('qlayer-sidebar');
    this.title.icon = qlayerIcon;
    this.title.caption = 'quantumlayer: jobs, spend, calls, model health';
    this.banner = new Banner([models.summary, models.jobs, models.calls, models.health]);
    this.sections = {
      jobs: new JobsSection(models.jobs),
      spend: new SpendSection(models.summary),
      chart: new CostChartSection(models.summary),
      calls: new CallsSection(models.calls, opener),
      health: new HealthSection(models.health)
    };
    this.addWidget(this.banner);
    for (const name of SECTIONS) {
      this.addWidget(this.sections[name]);
    }
  }

  /** Emitted when the panel is shown or hidden (the models poll faster while it shows). */
  get visibilityChanged(): ISignal<this, boolean> {
    return this._visibilityChanged;
  }

  protected onAfterShow(): void {
    this._visibilityChanged.emit(true);
  }

  protected onAfterHide(): void {
    this._visibilityChanged.emit(false);
  }

  /** Show only the named sections; the chart's default window. */
  configure(shown: Record<SectionName, boolean>, chartDays: 7 | 30): void {
    for (const name of SECTIONS) {
      this.sections[name].setHidden(!shown[name]);
    }
    (this.sections.chart as CostChartSection).setDays(chartDays);
  }

  /** Scroll a call into view after it was opened from a cell badge. */
  revealCall(callId: string): void {
    requestAnimationFrame(() => {
      const el = this.node.querySelector(`[data-call-id="${CSS.escape(callId)}"]`);
      el?.scrollIntoView({ block: 'nearest' });
    });
  }

  private readonly _visibilityChanged = new Signal<this, boolean>(this);
  readonly banner: Banner;
  readonly sections: Record<SectionName, JobsSection | SpendSection | CostChartSection | CallsSection | HealthSection>;
}
