/**
 * The state of a list read one offset/limit page at a time (search results,
 * duplicate groups), as a pure reducer: what a page, a failure or a reset
 * does to the list is decided here, once, and tested without a browser.
 * `usePagedList` (hooks.ts) runs the requests and feeds this reducer.
 */

/** What every paged route answers (`DatasetPage`, `DuplicatePage`, …). */
export interface IPageOf<T> {
  items: T[];
  total: number;
  limit: number;
  /** False when `total` is an estimate (a search matching a large share). */
  total_exact?: boolean;
  /** On cursor-paged routes: where the next page starts, null after the last. */
  next_cursor?: string | null;
}

/** Which page to fetch next: at `offset` rows, or after `previous`'s cursor. */
export interface INextPage<P> {
  offset: number;
  /** The newest page so far (null for the first page). */
  previous: P | null;
}

export interface IPagedList<T, P extends IPageOf<T>> {
  /** Every row loaded so far, in the order the pages came. */
  items: T[];
  /** The newest page (for route-specific totals such as `wasted_bytes`). */
  page: P | null;
  /** Rows in all: the server's count, or more when pages shifted. */
  total: number;
  /** False while `total` is the server's estimate. */
  exact: boolean;
  /** The first page failed: there is nothing to show. */
  error: Error | null;
  /** A later page failed: the rows loaded so far stay. */
  moreError: Error | null;
  loadingMore: boolean;
}

export type PagedListAction<P> =
  | { type: 'reset' }
  | { type: 'loadingMore' }
  | { type: 'page'; page: P; first: boolean }
  | { type: 'failed'; error: Error; first: boolean };

/** Nothing loaded yet (the first page is on its way). */
export function emptyPagedList<T, P extends IPageOf<T>>(): IPagedList<T, P> {
  return {
    items: [],
    page: null,
    total: 0,
    exact: true,
    error: null,
    moreError: null,
    loadingMore: false
  };
}

/**
 * The totals once `page` arrived. A short page is the end of the list,
 * which turns an estimated total into the exact count.
 */
function totals<T>(
  items: T[],
  page: IPageOf<T>
): { total: number; exact: boolean } {
  const exact = page.total_exact !== false;
  if (!exact && page.items.length < page.limit) {
    return { total: items.length, exact: true };
  }
  return { total: Math.max(page.total, items.length), exact };
}

/** `page` after the rows already loaded; rows may shift between pages, so
 * a row already shown is never shown twice. */
function appended<T extends { id: number }>(items: T[], page: IPageOf<T>): T[] {
  const seen = new Set(items.map(item => item.id));
  return items.concat(page.items.filter(item => !seen.has(item.id)));
}

export function pagedListReducer<
  T extends { id: number },
  P extends IPageOf<T>
>(state: IPagedList<T, P>, action: PagedListAction<P>): IPagedList<T, P> {
  switch (action.type) {
    case 'reset':
      return emptyPagedList<T, P>();
    case 'loadingMore':
      return { ...state, loadingMore: true, moreError: null };
    case 'page': {
      const items = action.first
        ? action.page.items
        : appended(state.items, action.page);
      const { total, exact } = totals(items, action.page);
      return {
        ...state,
        items,
        total,
        exact,
        page: action.page,
        loadingMore: false
      };
    }
    case 'failed':
      return action.first
        ? { ...state, error: action.error }
        : { ...state, moreError: action.error, loadingMore: false };
  }
}

/**
 * Rows not loaded yet. With an estimated total, more may come even when the
 * estimate is reached, so an estimate never says 0.
 */
export function remainingRows<T, P extends IPageOf<T>>(
  state: IPagedList<T, P>
): number {
  if (state.page === null || state.page.next_cursor === null) {
    return 0; // nothing yet, or the page said it was the last
  }
  return Math.max(state.total - state.items.length, state.exact ? 0 : 1);
}

/** Whether asking for the next page now makes sense. */
export function canLoadMore<T, P extends IPageOf<T>>(
  state: IPagedList<T, P>
): boolean {
  return (
    state.page !== null &&
    !state.loadingMore &&
    state.moreError === null &&
    remainingRows(state) > 0
  );
}
