/** Recent calls; a click opens one: route trace, tokens (estimated ones marked), cost, latency. */
import { h } from '../dom';
import { formatAgo, formatDuration, formatTokens, formatUSD } from '../format';
import { CallsModel } from '../models';
import { ICall } from '../types';
import { Section } from './section';

export interface ICellOpener {
  /** True when the notebook at this path is open. */
  canOpen(notebook: string): boolean;
  /** Show that notebook and select the cell. */
  open(notebook: string, cell: number | string | null): void;
}

const SHOWN = 25;

export class CallsSection extends Section {
  constructor(
    private readonly model: CallsModel,
    private readonly opener: ICellOpener
  ) {
    super('Recent calls', 'qlayer-calls');
    model.changed.connect(() => this.update(), this);
    model.selectionChanged.connect(() => this.update(), this);
  }

  protected render(): (Node | string)[] {
    const page = this.model.data;
    if (page === null) {
      return [h('div', { class: 'qlayer-empty' }, 'Loading…')];
    }
    if (page.calls.length === 0) {
      return [h('div', { class: 'qlayer-empty' }, 'No call recorded yet.')];
    }
    const out: (Node | string)[] = [];
    const selected = this.model.selected;
    let selectedShown = false;
    for (const call of page.calls.slice(0, SHOWN)) {
      out.push(this.row(call, call.call_id === selected));
      selectedShown = selectedShown || call.call_id === selected;
    }
    if (selected && !selectedShown) {
      const call = this.model.find(selected);
      out.unshift(
        call
          ? this.row(call, true)
          : h('div', { class: 'qlayer-empty' }, `Call ${selected} is not among the last ${page.limit}.`)
      );
    }
    out.push(h('div', { class: 'qlayer-calls-total' }, `${page.total} calls in the ledger`));
    return out;
  }

  private row(call: ICall, open: boolean): HTMLElement {
    const model = call.model_served ?? call.deployment ?? call.model_requested ?? '?';
    const head = h(
      'button',
      { class: 'qlayer-call-head', type: 'button', 'aria-expanded': open ? 'true' : 'false' },
      h('span', { class: `qlayer-outcome qlayer-outcome-${call.outcome}` }, call.cached ? 'cache' : call.outcome),
      h('span', { class: 'qlayer-call-model' }, model),
      h('span', { class: 'qlayer-call-cost' }, formatUSD(call.cost_usd)),
      h('span', { class: 'qlayer-call-when', title: call.ts }, formatAgo(call.ts))
    );
    head.addEventListener('click', () => this.model.select(open ? null : call.call_id));
    const el = h(
      'div',
      { class: `qlayer-call${open ? ' qlayer-mod-open' : ''}`, 'data-call-id': call.call_id },
      head
    );
    if (open) {
      el.appendChild(this.detail(call));
    }
    return el;
  }

  private detail(call: ICall): HTMLElement {
    const rows: [string, string][] = [
      ['Call', call.call_id],
      ['Tokens', formatTokens(call.tokens_in, call.tokens_out, call.tokens_estimated)],
      ['Cost', formatUSD(call.cost_usd)],
      ['Latency', formatDuration(call.latency_ms)],
      ['Requested', call.model_requested ?? '—'],
      ['Served by', `${call.deployment ?? '—'} (${call.model_served ?? '—'})`]
    ];
    if (call.cached) {
      rows.push(['Cache', call.cache_kind ?? 'exact']);
      if (call.similar_to) {
        rows.push(['Similar to', call.similar_to]);
      }
    }
    if (call.notebook) {
      rows.push(['Notebook', `${call.notebook}${call.cell !== null ? ` · cell ${call.cell}` : ''}`]);
    }
    if (call.run_id) {
      rows.push(['Run', call.run_id]);
    }
    if (call.error_message) {
      rows.push(['Error', call.error_message]);
    }
    const table = h(
      'table',
      { class: 'qlayer-call-facts' },
      ...rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))
    );
    const trace = h(
      'ol',
      { class: 'qlayer-route-trace' },
      ...call.route_trace.map(step =>
        h(
          'li',
          { class: `qlayer-outcome-${step.outcome}` },
          h('span', { class: 'qlayer-step-deployment' }, step.deployment),
          ` ${step.outcome} · ${step.reason} · ${formatDuration(step.latency_ms)} · ${formatUSD(step.cost_usd)}`
        )
      )
    );
    const box = h(
      'div',
      { class: 'qlayer-call-detail' },
      table,
      h('div', { class: 'qlayer-route-title' }, 'Route trace'),
      call.route_trace.length ? trace : h('div', { class: 'qlayer-empty' }, 'No route trace recorded.')
    );
    if (call.notebook && this.opener.canOpen(call.notebook)) {
      const go = h('button', { class: 'qlayer-goto-cell jp-mod-styled', type: 'button' }, 'Go to cell');
      go.addEventListener('click', () => this.opener.open(call.notebook!, call.cell));
      box.appendChild(go);
    }
    return box;
  }
}
