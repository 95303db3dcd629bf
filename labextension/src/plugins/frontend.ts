/**
 * Presence: answer the kernel's `quantumlayer_nb.frontend` comm on every kernel a notebook or
 * console connects to (registered again after a kernel change or restart), so the magics send
 * generated cells to this extension instead of using set_next_input.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISessionContext } from '@jupyterlab/apputils';
import { IConsoleTracker } from '@jupyterlab/console';
import { INotebookTracker } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';

import { COMM_TARGET } from '../tokens';

export const FRONTEND_REPLY = { frontend: 'jupyterlab', version: 1 };

/** Register the comm target on one kernel connection (idempotent). */
export function registerOn(kernel: Kernel.IKernelConnection | null | undefined): void {
  if (!kernel || kernel.isDisposed) {
    return;
  }
  kernel.registerCommTarget(COMM_TARGET, comm => {
    comm.send(FRONTEND_REPLY);
  });
}

/** Follow one session context: its current kernel, later kernels, and restarts. */
export function follow(context: ISessionContext): void {
  registerOn(context.session?.kernel);
  context.kernelChanged.connect((_, change) => registerOn(change.newValue));
  context.statusChanged.connect((_, status) => {
    if (status === 'restarting' || status === 'autorestarting' || status === 'starting') {
      registerOn(context.session?.kernel);
    }
  });
  context.connectionStatusChanged.connect((_, status) => {
    if (status === 'connected') {
      registerOn(context.session?.kernel);
    }
  });
}

export const frontendPlugin: JupyterFrontEndPlugin<void> = {
  id: 'quantumlayer-nb-labextension:frontend',
  description: 'Tells quantumlayer_nb kernels that this JupyterLab inserts generated cells.',
  autoStart: true,
  optional: [INotebookTracker, IConsoleTracker],
  activate: (
    _app: JupyterFrontEnd,
    notebooks: INotebookTracker | null,
    consoles: IConsoleTracker | null
  ) => {
    notebooks?.forEach(panel => follow(panel.sessionContext));
    notebooks?.widgetAdded.connect((_, panel) => follow(panel.sessionContext));
    consoles?.forEach(panel => follow(panel.sessionContext));
    consoles?.widgetAdded.connect((_, panel) => follow(panel.sessionContext));
  }
};
