/** Live jobs: batches, evaluations and notebook runs from any process, with Cancel. */
import { h } from '../dom';
import { formatSeconds, formatUSD } from '../format';
import { JobsModel } from '../models';
import { IJob } from '../types';
import { Section } from './section';

const RECENT = 8;

export class JobsSection extends Section {
  constructor(private readonly model: JobsModel) {
    super('Jobs', 'qlayer-jobs');
    model.changed.connect(() => this.update(), this);
  }

  protected render(): (Node | string)[] {
    const jobs = this.model.data;
    if (jobs === null) {
      return [h('div', { class: 'qlayer-empty' }, 'Loading…')];
    }
    if (jobs.length === 0) {
      return [h('div', { class: 'qlayer-empty' }, 'No batch, evaluation or run yet.')];
    }
    const running = jobs.filter(j => j.status === 'running');
    const rest = jobs
      .filter(j => j.status !== 'running')
      .sort((a, b) => b.updated - a.updated)
      .slice(0, RECENT);
    return [...running, ...rest].map(job => this.row(job));
  }

  private row(job: IJob): HTMLElement {
    const fraction = job.total > 0 ? Math.min(1, job.done / job.total) : 0;
    const cancelling = this.model.isCancelling(job);
    const bar = h(
      'div',
      {
        class: 'qlayer-progress',
        role: 'progressbar',
        'aria-valuemin': 0,
        'aria-valuemax': job.total,
        'aria-valuenow': job.done
      },
      h('div', {
        class: 'qlayer-progress-fill',
        style: `width: ${(fraction * 100).toFixed(1)}%`
      })
    );
    const facts = [
      `${job.done}/${job.total}`,
      job.passed || job.failed ? `${job.passed} passed, ${job.failed} failed` : null,
      formatUSD(job.cost_usd),
      job.status === 'running' && job.eta_s !== null ? `ETA ${formatSeconds(job.eta_s)}` : null
    ].filter(Boolean);
    const el = h(
      'div',
      {
        class: `qlayer-job qlayer-status-${job.status}`,
        'data-job-id': job.id,
        'data-status': job.status,
        'data-done': job.done,
        'data-total': job.total
      },
      h(
        'div',
        { class: 'qlayer-job-head' },
        h('span', { class: 'qlayer-job-title', title: job.id }, job.title || job.id),
        h('span', { class: 'qlayer-job-kind' }, job.kind),
        h('span', { class: 'qlayer-job-status' }, cancelling ? 'cancelling' : job.status)
      ),
      bar,
      h('div', { class: 'qlayer-job-facts' }, facts.join(' · '))
    );
    if (job.status === 'running') {
      const cancel = h(
        'button',
        {
          class: 'qlayer-job-cancel jp-mod-styled',
          type: 'button',
          disabled: cancelling,
          title: 'Stop starting calls; calls in flight finish and are recorded'
        },
        cancelling ? 'Cancelling…' : 'Cancel'
      );
      cancel.addEventListener('click', () => {
        void this.model.cancel(job.id).catch(() => undefined);
      });
      el.querySelector('.qlayer-job-head')!.appendChild(cancel);
    }
    return el;
  }
}
