/**
 * DDAS JupyterLab extension: the Datasets sidebar, its commands and the
 * reuse/alert toasts.
 *
 * Commands:
 * - `ddas:open-sidebar`  show the Datasets panel (optionally a tab: `{view}`)
 * - `ddas:show-dataset`  open a dataset's details (`{id}`: content id)
 * - `ddas:refresh`       reload what the panel shows and check for events
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { createDatasetActions } from './actions';
import { DdasApi } from './api';
import { datasetsIcon } from './icon';
import { applyKernelspecsOnLoad } from './kernelPreference';
import { SidebarModel, ViewName } from './model';
import { EventNotifier } from './notifications';
import { DatasetsSidebar, SIDEBAR_ID } from './sidebar';
import { IWhoAmI } from './types';

export namespace CommandIDs {
  export const openSidebar = 'ddas:open-sidebar';
  export const showDataset = 'ddas:show-dataset';
  export const refresh = 'ddas:refresh';
}

const VIEWS: ViewName[] = ['search', 'collections', 'duplicates', 'savings'];

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'ddas:plugin',
  description:
    'Datasets sidebar of DDAS: find, reuse and de-duplicate shared dataset copies.',
  autoStart: true,
  optional: [ILayoutRestorer, INotebookTracker, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    tracker: INotebookTracker | null,
    palette: ICommandPalette | null
  ) => {
    const api = new DdasApi(app.serviceManager.serverSettings);
    if (tracker) {
      // the quickstart is run right after it opens: no "Select Kernel" then
      applyKernelspecsOnLoad(tracker);
    }
    const actions = createDatasetActions({
      app,
      api,
      tracker,
      whoami: () => model.whoami
    });
    const model = new SidebarModel(api, actions);
    const whoami = sharedWhoami(api, me => {
      model.whoami = me;
    });
    const sidebar = new DatasetsSidebar(model);
    app.shell.add(sidebar, 'left', { rank: 600, type: 'Datasets' });
    if (restorer) {
      restorer.add(sidebar, SIDEBAR_ID);
    }
    const notifier = new EventNotifier({
      api,
      commands: app.commands,
      whoami,
      showCommand: CommandIDs.showDataset,
      // A kernel of this user fetched, reused or scanned: what the sidebar
      // lists changed, so reload it (only on activity, never on a timer).
      onActivity: () => model.refresh(),
      // Others' changes are offered as a refresh, and only asked for while
      // the panel is open and not already offering one.
      watchOthers: () => sidebar.isVisible && !model.news,
      onOthersActivity: () => model.markNews()
    });
    whoami().catch(error => {
      console.warn('DDAS: cannot tell who the user is:', error);
    });
    addShowCommands(app, model);
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Datasets (DDAS)',
      caption: 'Reload the DDAS Datasets sidebar',
      execute: () => {
        if (!model.whoami) {
          void whoami().catch(() => undefined);
        }
        model.refresh();
        void notifier.refresh();
      }
    });
    if (palette) {
      const category = 'Datasets (DDAS)';
      palette.addItem({ command: CommandIDs.openSidebar, category });
      palette.addItem({ command: CommandIDs.refresh, category });
    }
  }
};

/**
 * One `whoami` for the sidebar and the notifier: asked once, retried after
 * a failure; `onAnswer` hears the user.
 */
function sharedWhoami(
  api: DdasApi,
  onAnswer: (me: IWhoAmI) => void
): () => Promise<IWhoAmI> {
  let whoamiRequest: Promise<IWhoAmI> | null = null;
  return (): Promise<IWhoAmI> => {
    if (!whoamiRequest) {
      whoamiRequest = api.whoami().then(
        me => {
          onAnswer(me);
          return me;
        },
        error => {
          whoamiRequest = null;
          throw error;
        }
      );
    }
    return whoamiRequest;
  };
}

/** `ddas:open-sidebar` (optionally on a tab) and `ddas:show-dataset`. */
function addShowCommands(app: JupyterFrontEnd, model: SidebarModel): void {
  app.commands.addCommand(CommandIDs.openSidebar, {
    label: 'Show Datasets (DDAS)',
    caption: 'Open the DDAS Datasets sidebar',
    icon: args => (args.isPalette ? undefined : datasetsIcon),
    execute: (args: ReadonlyPartialJSONObject) => {
      const view = args.view as ViewName | undefined;
      if (view && VIEWS.includes(view)) {
        model.showView(view);
      }
      app.shell.activateById(SIDEBAR_ID);
    }
  });
  app.commands.addCommand(CommandIDs.showDataset, {
    label: 'Show Dataset Details (DDAS)',
    caption: 'Open one dataset in the DDAS Datasets sidebar',
    execute: (args: ReadonlyPartialJSONObject) => {
      const id = Number(args.id);
      if (!Number.isInteger(id) || id < 0) {
        throw new Error(
          `ddas:show-dataset needs an integer id, got ${String(args.id)}`
        );
      }
      model.showDataset(id);
      app.shell.activateById(SIDEBAR_ID);
    },
    describedBy: {
      args: {
        type: 'object',
        properties: {
          id: { type: 'integer', description: 'Dataset (content) id' }
        },
        required: ['id']
      }
    }
  });
}

export default plugin;
