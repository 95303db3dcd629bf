/** The sidebar and the status-bar item, their models, and the settings that drive them. */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';

import { CallsModel, HealthModel, JobsModel, SummaryModel } from '../models';
import { QLayerAPI } from '../request';
import { IQLayerSidebar, PLUGIN_ID } from '../tokens';
import { ICellOpener } from '../widgets/calls';
import { DEFAULT_SETTINGS, readSettings } from '../settings';
import { IModels, SidebarPanel } from '../widgets/panel';
import { SpendStatus } from '../widgets/status';

function samePath(ledgerPath: string, openPath: string): boolean {
  const a = ledgerPath.replace(/\\/g, '/');
  return a === openPath || a.endsWith(`/${openPath}`);
}

function cellOpener(app: JupyterFrontEnd, notebooks: INotebookTracker | null): ICellOpener {
  const find = (path: string): NotebookPanel | null =>
    notebooks?.find(p => samePath(path, p.context.path)) ?? null;
  return {
    canOpen: path => find(path) !== null,
    open: (path, cell) => {
      const panel = find(path);
      if (!panel) {
        return;
      }
      app.shell.activateById(panel.id);
      const widgets = panel.content.widgets;
      const index =
        typeof cell === 'number'
          ? cell
          : widgets.findIndex(c => c.model.id === cell);
      if (index >= 0 && index < widgets.length) {
        panel.content.activeCellIndex = index;
        void panel.content.scrollToCell(widgets[index]);
      }
    }
  };
}

export const sidebarPlugin: JupyterFrontEndPlugin<IQLayerSidebar> = {
  id: PLUGIN_ID,
  description: 'The quantumlayer sidebar: live jobs, spend and budgets, calls, model health.',
  autoStart: true,
  provides: IQLayerSidebar,
  optional: [ILabShell, ILayoutRestorer, IStatusBar, ISettingRegistry, INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    restorer: ILayoutRestorer | null,
    statusBar: IStatusBar | null,
    settingRegistry: ISettingRegistry | null,
    notebooks: INotebookTracker | null
  ): IQLayerSidebar => {
    const api = new QLayerAPI(app.serviceManager.serverSettings);
    let settings = DEFAULT_SETTINGS;
    const intervals = () => ({
      fastMs: settings.pollIntervalMs,
      slowMs: settings.statusIntervalMs
    });
    const models: IModels = {
      summary: new SummaryModel(api, intervals()),
      jobs: new JobsModel(api, intervals()),
      calls: new CallsModel(api, intervals()),
      health: new HealthModel(api, intervals(), 5)
    };
    const panel = new SidebarPanel(models, cellOpener(app, notebooks));

    const applyModes = () => {
      const visible = panel.isVisible;
      models.summary.mode = visible ? 'fast' : statusBar ? 'slow' : 'off';
      models.jobs.mode = visible && settings.sections.jobs ? 'fast' : 'off';
      models.calls.mode = visible && settings.sections.calls ? 'fast' : 'off';
      models.health.mode = visible && settings.sections.health ? 'fast' : 'off';
    };
    panel.visibilityChanged.connect(applyModes);

    const applySettings = () => {
      for (const model of Object.values(models)) {
        model.setIntervals(intervals());
      }
      models.calls.limit = settings.callsLimit;
      panel.configure(settings.sections, settings.chartDays);
      applyModes();
    };

    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, panel.id);

    if (statusBar) {
      const item = new SpendStatus(models.summary, () => app.shell.activateById(panel.id));
      statusBar.registerStatusItem('quantumlayer-nb-labextension:status', {
        item,
        align: 'left',
        rank: 100
      });
    }

    if (settingRegistry) {
      void settingRegistry
        .load(PLUGIN_ID)
        .then(loaded => {
          const update = () => {
            settings = readSettings(loaded.composite as Record<string, unknown>);
            applySettings();
          };
          loaded.changed.connect(update);
          update();
        })
        .catch(reason => {
          console.warn('quantumlayer: could not load the sidebar settings', reason);
          applySettings();
        });
    } else {
      applySettings();
    }
    void labShell;

    app.commands.addCommand('quantumlayer-nb:open-sidebar', {
      label: 'Show the quantumlayer sidebar',
      execute: () => app.shell.activateById(panel.id)
    });

    return {
      openCall: (callId: string) => {
        app.shell.activateById(panel.id);
        models.calls.select(callId);
        models.calls.refresh();
        panel.revealCall(callId);
      }
    };
  }
};
