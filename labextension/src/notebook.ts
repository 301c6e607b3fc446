/**
 * Writing code into the notebook the user is working in. The sidebar takes
 * focus when clicked, so "active" means the notebook the tracker last saw
 * focused, and its active cell.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';

/**
 * Insert `code` into the active cell of the current notebook.
 *
 * - an empty code cell is replaced by `code`;
 * - a code cell with text gets `code` at the cursor (replacing a selection),
 *   like a paste;
 * - a markdown/raw cell is left alone and a new code cell is added below it.
 *
 * Returns false when no notebook is open, so the caller can tell the user.
 */
export function insertIntoActiveCell(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  code: string
): boolean {
  const panel = tracker.currentWidget;
  if (!panel) {
    return false;
  }
  const notebook = panel.content;
  let cell = notebook.activeCell;
  if (!cell || cell.model.type !== 'code') {
    NotebookActions.insertBelow(notebook);
    cell = notebook.activeCell;
    if (cell && cell.model.type !== 'code') {
      NotebookActions.changeCellType(notebook, 'code');
      cell = notebook.activeCell;
    }
  }
  if (!cell) {
    return false;
  }
  const shared = cell.model.sharedModel;
  const source = shared.getSource();
  const editor = cell.editor;
  let cursorOffset: number;
  if (source.trim() === '') {
    shared.setSource(code);
    cursorOffset = code.length;
  } else if (editor) {
    const selection = editor.getSelection();
    const a = editor.getOffsetAt(selection.start);
    const b = editor.getOffsetAt(selection.end);
    const [start, end] = a <= b ? [a, b] : [b, a];
    shared.updateSource(start, end, code);
    cursorOffset = start + code.length;
  } else {
    // Cell not rendered (windowed notebook): append on a line of its own.
    const separator = source.endsWith('\n') ? '' : '\n';
    shared.setSource(source + separator + code);
    cursorOffset = source.length + separator.length + code.length;
  }

  app.shell.activateById(panel.id);
  notebook.mode = 'edit';
  if (cell.editor) {
    cell.editor.setCursorPosition(
      cell.editor.getPositionAt(cursorOffset) ?? { line: 0, column: 0 }
    );
    cell.editor.focus();
  }
  return true;
}
