import { Token } from '@lumino/coreutils';

export const PLUGIN_ID = 'quantumlayer-nb-labextension:plugin';
export const CELL_MIME = 'application/vnd.quantumlayer.cell+json';
export const COMM_TARGET = 'quantumlayer_nb.frontend';

/** What other plugins can ask of the sidebar. */
export interface IQLayerSidebar {
  /** Open the panel on one call (a generated cell's badge). */
  openCall(callId: string): void;
}

export const IQLayerSidebar = new Token<IQLayerSidebar>(
  'quantumlayer-nb-labextension:IQLayerSidebar',
  'Opens the quantumlayer sidebar on a call.'
);
