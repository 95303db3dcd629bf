import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { cellsPlugin } from './plugins/cells';
import { frontendPlugin } from './plugins/frontend';
import { sidebarPlugin } from './plugins/sidebar';

const plugins: JupyterFrontEndPlugin<any>[] = [sidebarPlugin, frontendPlugin, cellsPlugin];

export default plugins;
