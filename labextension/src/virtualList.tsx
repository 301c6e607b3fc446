/**
 * A fixed-row-height windowed list: only the rows in view (plus a few on
 * each side) are in the DOM, so ten thousand search results scroll as
 * smoothly as ten. Keyboard users move between rows with the arrow keys,
 * Home and End; rows scrolled out of the window are rendered before focus.
 */
import * as React from 'react';
import {
  useCallback,
  useEffect,
  useLayoutEffect,
  useRef,
  useState
} from 'react';

export interface IVirtualListProps<T> {
  items: T[];
  /** Height of every row in px; rows must not grow beyond it (CSS clamps). */
  rowHeight: number;
  /** Rows rendered above and below the viewport. */
  overscan?: number;
  renderRow: (
    item: T,
    index: number,
    style: React.CSSProperties
  ) => React.ReactNode;
  /** Called when the last rendered row is near the end (load the next page). */
  onNearEnd?: () => void;
  /** Rendered after the rows, e.g. a "Load more" button. */
  footer?: React.ReactNode;
  /** Accessible name of the list. */
  label: string;
  className?: string;
}

export function VirtualList<T>(
  props: IVirtualListProps<T>
): React.ReactElement {
  const { items, rowHeight, onNearEnd, footer, label } = props;
  const overscan = props.overscan ?? 6;
  const ref = useRef<HTMLDivElement>(null);
  const { scrollTop, setScrollTop, height } = useViewport(ref, items.length);
  const focusRow = useRowFocus(ref, items.length, rowHeight, setScrollTop);

  const viewport = height > 0 ? height : 600;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(
    items.length,
    Math.ceil((scrollTop + viewport) / rowHeight) + overscan
  );

  useEffect(() => {
    if (onNearEnd && height > 0 && last >= items.length - overscan) {
      onNearEnd();
    }
  }, [onNearEnd, height, last, items.length, overscan]);

  const onKeyDown = (event: React.KeyboardEvent<HTMLDivElement>) => {
    const source = (event.target as HTMLElement).closest<HTMLElement>(
      '[data-index]'
    );
    const page = Math.max(1, Math.floor(viewport / rowHeight) - 1);
    const target = source
      ? keyTarget(event.key, Number(source.dataset.index), page, items.length)
      : null;
    if (target !== null) {
      event.preventDefault();
      focusRow(target);
    }
  };

  return (
    <div
      ref={ref}
      className={`jp-ddas-virtual-list ${props.className ?? ''}`}
      onScroll={event => setScrollTop(event.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
    >
      <div
        role="list"
        aria-label={label}
        className="jp-ddas-virtual-spacer"
        style={{ height: items.length * rowHeight, position: 'relative' }}
      >
        {windowRows(props, first, last)}
      </div>
      {footer}
    </div>
  );
}

/** Rows `first` to `last` (excluded), each placed at its own offset. */
function windowRows<T>(
  props: IVirtualListProps<T>,
  first: number,
  last: number
): React.ReactNode[] {
  const { items, rowHeight, renderRow } = props;
  const rows: React.ReactNode[] = [];
  for (let index = first; index < last; index++) {
    rows.push(
      renderRow(items[index], index, {
        position: 'absolute',
        top: index * rowHeight,
        height: rowHeight,
        left: 0,
        right: 0
      })
    );
  }
  return rows;
}

/** The row a key moves the focus to from row `index`, or null for other keys. */
function keyTarget(
  key: string,
  index: number,
  page: number,
  count: number
): number | null {
  const moves: { [key: string]: number } = {
    ArrowDown: index + 1,
    ArrowUp: index - 1,
    PageDown: index + page,
    PageUp: index - page,
    Home: 0,
    End: count - 1
  };
  return key in moves ? moves[key] : null;
}

/**
 * Track the viewport: the sidebar is resized and hidden (height 0) often;
 * a fresh search (no rows) starts at the top.
 */
function useViewport(
  ref: React.RefObject<HTMLDivElement | null>,
  count: number
): {
  scrollTop: number;
  setScrollTop: (top: number) => void;
  height: number;
} {
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(0);
  useLayoutEffect(() => {
    const node = ref.current;
    if (!node) {
      return;
    }
    const update = () => {
      setHeight(node.clientHeight);
      setScrollTop(node.scrollTop);
    };
    update();
    if (typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(update);
    observer.observe(node);
    return () => observer.disconnect();
  }, [ref]);
  useLayoutEffect(() => {
    if (count === 0 && ref.current) {
      ref.current.scrollTop = 0;
      setScrollTop(0);
    }
  }, [ref, count]);
  return { scrollTop, setScrollTop, height };
}

/**
 * `focusRow(index)`: scroll row `index` into view and focus it, after the
 * next render when it was not rendered yet.
 */
function useRowFocus(
  ref: React.RefObject<HTMLDivElement | null>,
  count: number,
  rowHeight: number,
  setScrollTop: (top: number) => void
): (index: number) => void {
  const pendingFocus = useRef<number | null>(null);
  useEffect(() => {
    const index = pendingFocus.current;
    if (index === null || !ref.current) {
      return;
    }
    const row = ref.current.querySelector<HTMLElement>(
      `[data-index="${index}"]`
    );
    if (row) {
      pendingFocus.current = null;
      row.focus();
    }
  });
  return useCallback(
    (index: number) => {
      const node = ref.current;
      if (!node || count === 0) {
        return;
      }
      const target = Math.max(0, Math.min(count - 1, index));
      const top = target * rowHeight;
      if (top < node.scrollTop) {
        node.scrollTop = top;
      } else if (top + rowHeight > node.scrollTop + node.clientHeight) {
        node.scrollTop = top + rowHeight - node.clientHeight;
      }
      setScrollTop(node.scrollTop);
      const row = node.querySelector<HTMLElement>(`[data-index="${target}"]`);
      if (row) {
        row.focus();
      } else {
        pendingFocus.current = target;
      }
    },
    [ref, count, rowHeight, setScrollTop]
  );
}
