/**
 * Generated cells: the MIME renderer for `application/vnd.quantumlayer.cell+json` (insert the
 * cell below once per call id, or show a diff to accept for a replace), and the badge on every
 * cell whose metadata carries `quantumlayer.call_id`.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Cell, CodeCell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { lineDiff } from '../diff';
import { h, replaceChildren } from '../dom';
import { formatTokens, formatUSD } from '../format';
import { CELL_MIME, IQLayerSidebar } from '../tokens';
import { ICellPayload, IProvenance } from '../types';

const GENERATED = 'qlayer-generated';

/** The provenance on a cell, when it has one. */
export function provenanceOf(cell: { getMetadata(key: string): any }): IProvenance | null {
  const meta = cell.getMetadata('quantumlayer');
  return meta && typeof meta === 'object' && typeof meta.call_id === 'string'
    ? (meta as IProvenance)
    : null;
}

function hasCallId(panel: NotebookPanel, callId: string): boolean {
  const cells = panel.content.model?.cells;
  if (!cells) {
    return false;
  }
  for (let i = 0; i < cells.length; i++) {
    if (provenanceOf(cells.get(i))?.call_id === callId) {
      return true;
    }
  }
  return false;
}

const rejected = new Set<string>();

export class GeneratedCellRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(private readonly tracker: INotebookTracker) {
    super();
    this.addClass('qlayer-cell-note');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.payload = model.data[CELL_MIME] as unknown as ICellPayload;
    this.note(`qlayer: generated code for call ${this.payload?.metadata?.quantumlayer?.call_id ?? '?'}`);
    if (this.isAttached) {
      this.apply();
    } else {
      this.pending = true;
    }
  }

  protected onAfterAttach(): void {
    if (this.pending) {
      this.pending = false;
      // The output is attached before the notebook finishes laying it out; wait a frame.
      requestAnimationFrame(() => this.apply());
    }
  }

  private where(): { panel: NotebookPanel; index: number } | null {
    const panel = this.tracker.find(p => p.node.contains(this.node));
    if (!panel) {
      return null;
    }
    const index = panel.content.widgets.findIndex(c => c.node.contains(this.node));
    return index < 0 ? null : { panel, index };
  }

  private apply(): void {
    const p = this.payload;
    if (!p || typeof p.code !== 'string' || !p.metadata?.quantumlayer?.call_id) {
      this.note('qlayer: this generated-cell output is malformed and was ignored.');
      return;
    }
    const meta = p.metadata.quantumlayer;
    const at = this.where();
    if (!at) {
      this.note(`qlayer: generated code for call ${meta.call_id} (open in a notebook to insert it).`);
      return;
    }
    if (p.action === 'replace') {
      this.showReplace(at.panel, p, meta);
      return;
    }
    if (hasCallId(at.panel, meta.call_id)) {
      this.note(`qlayer: code inserted as the next cell (call ${meta.call_id}).`);
      return;
    }
    const shared = at.panel.content.model!.sharedModel;
    shared.insertCell(at.index + 1, {
      cell_type: 'code',
      source: p.code,
      metadata: { quantumlayer: meta as any }
    });
    this.note(`qlayer: code inserted as the next cell (call ${meta.call_id}).`);
  }

  private target(panel: NotebookPanel, count: number | null): Cell | null {
    if (count === null) {
      return null;
    }
    return (
      panel.content.widgets.find(
        c => c instanceof CodeCell && c.model.executionCount === count
      ) ?? null
    );
  }

  private showReplace(panel: NotebookPanel, p: ICellPayload, meta: IProvenance): void {
    const already = panel.content.widgets.find(c => provenanceOf(c.model)?.call_id === meta.call_id);
    if (already) {
      this.note(`qlayer: fix accepted (call ${meta.call_id}).`);
      return;
    }
    if (rejected.has(meta.call_id)) {
      this.note(`qlayer: fix rejected (call ${meta.call_id}).`);
      return;
    }
    const target = this.target(panel, p.target_execution_count);
    const original = p.original ?? target?.model.sharedModel.getSource() ?? '';
    const diff = h(
      'pre',
      { class: 'qlayer-diff' },
      ...lineDiff(original, p.code).map(line =>
        h(
          'div',
          { class: `qlayer-diff-${line.kind}` },
          `${line.kind === 'add' ? '+' : line.kind === 'del' ? '-' : ' '} ${line.text}`
        )
      )
    );
    const accept = h('button', { class: 'qlayer-diff-accept jp-mod-styled jp-mod-accept', type: 'button' }, 'Accept');
    const reject = h('button', { class: 'qlayer-diff-reject jp-mod-styled', type: 'button' }, 'Reject');
    accept.addEventListener('click', () => {
      const cell = this.target(panel, p.target_execution_count);
      if (!cell) {
        this.note(
          `qlayer: cell [${p.target_execution_count ?? '?'}] is no longer in this notebook; ` +
            'copy the fix from the call in the sidebar.'
        );
        return;
      }
      cell.model.sharedModel.setSource(p.code);
      cell.model.setMetadata('quantumlayer', meta);
      this.note(`qlayer: fix accepted (call ${meta.call_id}).`);
    });
    reject.addEventListener('click', () => {
      rejected.add(meta.call_id);
      this.note(`qlayer: fix rejected (call ${meta.call_id}).`);
    });
    replaceChildren(
      this.node,
      h(
        'div',
        { class: 'qlayer-diff-head' },
        `qlayer fix for cell [${p.target_execution_count ?? '?'}] · ${meta.model} · ${formatUSD(meta.cost_usd)}`
      ),
      diff,
      h('div', { class: 'qlayer-diff-actions' }, accept, ' ', reject)
    );
  }

  private note(text: string): void {
    replaceChildren(this.node, h('span', { class: 'qlayer-cell-note-text' }, text));
  }

  private payload: ICellPayload | null = null;
  private pending = false;
}

/** Keep the badge of every generated cell of one notebook in step with its metadata. */
function badges(panel: NotebookPanel, sidebar: IQLayerSidebar | null): void {
  let scheduled = false;
  const watched = new WeakSet<object>();
  const refresh = () => {
    scheduled = false;
    for (const cell of panel.content.widgets) {
      if (!watched.has(cell.model)) {
        watched.add(cell.model);
        cell.model.metadataChanged.connect(schedule);
      }
      decorate(cell, sidebar);
    }
  };
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(refresh);
    }
  };
  panel.content.modelChanged.connect(() => {
    panel.content.model?.cells.changed.connect(schedule);
    schedule();
  });
  panel.content.model?.cells.changed.connect(schedule);
  void panel.context.ready.then(schedule);
}

function decorate(cell: Cell, sidebar: IQLayerSidebar | null): void {
  const meta = provenanceOf(cell.model);
  let badge = cell.node.querySelector(':scope > .qlayer-cell-badge') as HTMLElement | null;
  if (!meta) {
    cell.removeClass(GENERATED);
    badge?.remove();
    return;
  }
  cell.addClass(GENERATED);
  if (!badge) {
    badge = h('button', { class: 'qlayer-cell-badge', type: 'button' }, 'qlayer');
    badge.addEventListener('click', event => {
      event.stopPropagation();
      const id = badge!.dataset.callId;
      if (id) {
        sidebar?.openCall(id);
      }
    });
    cell.node.appendChild(badge);
  }
  badge.dataset.callId = meta.call_id;
  const tokens = meta.tokens
    ? ` · ${formatTokens(meta.tokens.in, meta.tokens.out, meta.tokens.estimated)}`
    : '';
  badge.title = `Generated by ${meta.model} · ${formatUSD(meta.cost_usd)}${tokens} · call ${meta.call_id}`;
}

export const cellsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'quantumlayer-nb-labextension:cells',
  description: 'Inserts generated cells with their provenance and marks them with a badge.',
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry],
  optional: [IQLayerSidebar],
  activate: (
    _app: JupyterFrontEnd,
    tracker: INotebookTracker,
    rendermime: IRenderMimeRegistry,
    sidebar: IQLayerSidebar | null
  ) => {
    rendermime.addFactory(
      {
        // Untrusted notebooks (someone else's saved file) never insert or replace cells.
        safe: false,
        mimeTypes: [CELL_MIME],
        defaultRank: 0,
        createRenderer: () => new GeneratedCellRenderer(tracker)
      },
      0
    );
    tracker.forEach(panel => badges(panel, sidebar));
    tracker.widgetAdded.connect((_, panel) => badges(panel, sidebar));
  }
};
