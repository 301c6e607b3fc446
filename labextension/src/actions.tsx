/**
 * What the user can do with one copy of a dataset from the Details view.
 *
 * The view only asks "may I show this button?" and "do it"; everything that
 * touches Lab (clipboard, notebooks, file browser, dialogs) lives here so
 * views stay plain React and the rules (who may forget a copy, which paths
 * the file browser can reach) are in one place.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Clipboard,
  Dialog,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { INotebookTracker } from '@jupyterlab/notebook';
import * as React from 'react';

import { DdasApi } from './api';
import { SafeText } from './components';
import { isolatedText } from './format';
import { insertIntoActiveCell } from './notebook';
import { contentsPathFor } from './paths';
import { ddasOpenSnippet } from './python';
import { ICopy, IWhoAmI } from './types';

export interface IDatasetActions {
  /** Put the copy's location on the system clipboard. */
  copyPath(copy: ICopy): void;
  /** Write `ddas.open("<location>")` into the active notebook cell. */
  insertOpen(copy: ICopy): void;
  /** Whether the copy is a local path under the Jupyter server root. */
  canOpenInFileBrowser(copy: ICopy): boolean;
  /** Reveal the copy in Lab's file browser. */
  openInFileBrowser(copy: ICopy): Promise<void>;
  /** Admins may forget any copy; others only their own. */
  canForget(copy: ICopy): boolean;
  /** Confirm, then `DELETE copies/{id}`; resolves true when forgotten. */
  forget(copy: ICopy, datasetName: string): Promise<boolean>;
}

export interface IActionsOptions {
  app: JupyterFrontEnd;
  api: DdasApi;
  tracker: INotebookTracker | null;
  /** Read lazily: whoami may answer after the sidebar is built. */
  whoami: () => IWhoAmI | null;
  /** Defaults to the page config's `serverRoot`. */
  serverRoot?: string;
}

export function createDatasetActions(
  options: IActionsOptions
): IDatasetActions {
  const { app, api, tracker, whoami } = options;
  const serverRoot = options.serverRoot ?? PageConfig.getOption('serverRoot');

  return {
    copyPath(copy: ICopy): void {
      Clipboard.copyToSystem(copy.location);
      Notification.info('Path copied to the clipboard', { autoClose: 2000 });
    },

    insertOpen(copy: ICopy): void {
      const code = ddasOpenSnippet(copy.location);
      if (!tracker || !insertIntoActiveCell(app, tracker, code)) {
        Clipboard.copyToSystem(code);
        Notification.warning(
          'No notebook is open: the ddas.open(…) call was copied to the clipboard instead.',
          { autoClose: 5000 }
        );
      }
    },

    canOpenInFileBrowser(copy: ICopy): boolean {
      return contentsPathFor(copy.location, serverRoot) !== null;
    },

    async openInFileBrowser(copy: ICopy): Promise<void> {
      const path = contentsPathFor(copy.location, serverRoot);
      if (path === null) {
        return;
      }
      try {
        await app.commands.execute('filebrowser:go-to-path', { path });
      } catch {
        Notification.error(
          `Cannot show ${path} in the file browser: it may not exist on this server.`,
          { autoClose: 6000 }
        );
      }
    },

    canForget(copy: ICopy): boolean {
      const me = whoami();
      return me !== null && (me.admin || me.user === copy.owner);
    },

    forget(copy: ICopy, datasetName: string): Promise<boolean> {
      return forgetAfterConfirming(api, copy, datasetName);
    }
  };
}

/** Ask, then `DELETE copies/{id}`; a toast says how it went. */
async function forgetAfterConfirming(
  api: DdasApi,
  copy: ICopy,
  datasetName: string
): Promise<boolean> {
  const result = await showDialog({
    title: 'Forget this copy?',
    body: <ForgetDialogBody copy={copy} datasetName={datasetName} />,
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label: 'Forget copy' })
    ]
  });
  if (!result.button.accept) {
    return false;
  }
  try {
    await api.forgetCopy(copy.id);
    Notification.success(
      `Forgot the copy at ${isolatedText(copy.location, 100)}`,
      {
        autoClose: 3000
      }
    );
    return true;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    Notification.error(`Could not forget the copy: ${message}`, {
      autoClose: 8000
    });
    return false;
  }
}

function ForgetDialogBody(props: {
  copy: ICopy;
  datasetName: string;
}): React.ReactElement {
  const { copy, datasetName } = props;
  return (
    <div className="jp-ddas-dialog-body">
      <p>
        DDAS will stop pointing people to this copy of{' '}
        <strong>
          <SafeText value={datasetName} />
        </strong>
        :
      </p>
      <SafeText code className="jp-ddas-path" value={copy.location} />
      <p>
        Owner: <SafeText value={copy.owner} max={64} />. The file itself is not
        deleted, and other copies are not affected.
      </p>
    </div>
  );
}
