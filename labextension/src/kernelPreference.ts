/**
 * No "Select Kernel" dialog for a notebook run as soon as it appears.
 *
 * JupyterLab shows a notebook once its file is loaded, then makes a
 * checkpoint, and only then applies the notebook's kernelspec to its session
 * and starts the kernel (`DocumentContext._populate`). A run requested in
 * between (Run All right after `make lab` opens the quickstart) makes the
 * cell executor start a kernel itself, from a kernel preference that names no
 * kernel yet, so Lab asks the user to pick one. Applying the kernelspec as
 * soon as the file is loaded gives that early run the notebook's own kernel,
 * as the later start would; Lab then sets the same preference again.
 */
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

/** The preference `_populate` would set, applied as soon as `panel` is loaded. */
export function applyKernelspecOnLoad(panel: NotebookPanel): void {
  void panel.context.ready.then(() => {
    const { sessionContext, model } = panel.context;
    const name = model.defaultKernelName;
    const preference = sessionContext.kernelPreference;
    if (sessionContext.isDisposed || !name || preference.name) {
      return; // no kernelspec in the file, or a kernel was asked for already
    }
    sessionContext.kernelPreference = {
      ...preference,
      name,
      language: model.defaultKernelLanguage
    };
  });
}

/** Apply it to every notebook open or opened from now on. */
export function applyKernelspecsOnLoad(tracker: INotebookTracker): void {
  tracker.forEach(applyKernelspecOnLoad);
  tracker.widgetAdded.connect((_, panel) => applyKernelspecOnLoad(panel));
}
