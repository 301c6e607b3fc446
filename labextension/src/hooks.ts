/**
 * Small React hooks shared by the views: following a Lumino signal, loading
 * data with cancellation, and reading a list one page at a time.
 */
import { ISignal } from '@lumino/signaling';
import {
  DependencyList,
  useCallback,
  useEffect,
  useReducer,
  useRef,
  useState
} from 'react';

import { isAbort } from './api';
import {
  canLoadMore,
  emptyPagedList,
  INextPage,
  IPagedList,
  IPageOf,
  PagedListAction,
  pagedListReducer
} from './pagedList';

/** Re-render whenever `signal` fires (e.g. the sidebar model changed). */
export function useSignal<T>(signal: ISignal<T, unknown>): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    const onChange = () => setTick(tick => tick + 1);
    signal.connect(onChange);
    return () => {
      signal.disconnect(onChange);
    };
  }, [signal]);
}

/**
 * What an async load looks like to a view. `data` is kept while a reload
 * runs, so a refresh does not flash the panel empty.
 */
export interface IAsyncState<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
}

/**
 * Run `load` when `deps` change, abort the previous run, and ignore answers
 * that arrive after the view moved on. Returns the state and a `reload`.
 */
export function useAsync<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: DependencyList
): [IAsyncState<T>, () => void] {
  const [state, setState] = useState<IAsyncState<T>>({
    data: undefined,
    error: undefined,
    loading: true
  });
  const [nonce, setNonce] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    setState(previous => ({ ...previous, error: undefined, loading: true }));
    loadRef
      .current(controller.signal)
      .then(data => {
        if (!controller.signal.aborted) {
          setState({ data, error: undefined, loading: false });
        }
      })
      .catch((error: unknown) => {
        if (controller.signal.aborted || isAbort(error)) {
          return;
        }
        setState(previous => ({
          ...previous,
          error: asError(error),
          loading: false
        }));
      });
    return () => controller.abort();
    // `deps` is the caller's dependency list, forwarded on purpose.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, nonce]);

  const reload = useCallback(() => setNonce(n => n + 1), []);
  return [state, reload];
}

/** A rejection as an `Error` a view can show. */
export function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/** A paged list and what a view can do with it. */
export interface IPagedListHandle<T, P extends IPageOf<T>> extends IPagedList<
  T,
  P
> {
  /** Ask for the next page (ignored while one loads, at the end, after a failure). */
  loadMore: () => void;
  /** Ask again for the next page that failed. */
  retryMore: () => void;
  /** Start again from the first page. */
  reload: () => void;
}

/**
 * Read a list one page at a time: the first page whenever `deps` change
 * (or `reload` is called), the next one on `loadMore` (`fetchPage` is told
 * the offset reached and the previous page, for routes that page by cursor). Changing `deps`
 * aborts every request of the previous list, and answers that arrive after
 * the view moved on are dropped, so a page never lands in the wrong list.
 */
export function usePagedList<T extends { id: number }, P extends IPageOf<T>>(
  fetchPage: (next: INextPage<P>, signal: AbortSignal) => Promise<P>,
  deps: DependencyList
): IPagedListHandle<T, P> {
  const [state, dispatch] = useReducer(
    pagedListReducer<T, P>,
    undefined,
    emptyPagedList<T, P>
  );
  const [nonce, setNonce] = useState(0);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const stateRef = useRef(state);
  stateRef.current = state;
  /** The current list's requests: aborted together when the list changes. */
  const listRef = useRef<AbortController | null>(null);
  /** A next page is on its way (known before the re-render that shows it). */
  const busyRef = useRef(false);

  useEffect(() => {
    const controller = new AbortController();
    listRef.current = controller;
    busyRef.current = false;
    dispatch({ type: 'reset' });
    const first = { offset: 0, previous: null };
    const request = fetchRef.current(first, controller.signal);
    void settle(request, controller, true, dispatch);
    return () => controller.abort();
    // `deps` is the caller's dependency list, forwarded on purpose.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, nonce]);

  const fetchMore = useCallback((retry: boolean) => {
    const controller = listRef.current;
    const current = retry
      ? { ...stateRef.current, moreError: null }
      : stateRef.current;
    if (!controller || busyRef.current || !canLoadMore(current)) {
      return;
    }
    busyRef.current = true;
    dispatch({ type: 'loadingMore' });
    const next = { offset: current.items.length, previous: current.page };
    const request = fetchRef.current(next, controller.signal);
    void settle(request, controller, false, dispatch).finally(() => {
      if (listRef.current === controller) {
        busyRef.current = false;
      }
    });
  }, []);
  const loadMore = useCallback(() => fetchMore(false), [fetchMore]);
  const retryMore = useCallback(() => fetchMore(true), [fetchMore]);
  const reload = useCallback(() => setNonce(n => n + 1), []);
  return { ...state, loadMore, retryMore, reload };
}

/** Hand a page (or its failure) to the list, unless the list moved on. */
function settle<P>(
  request: Promise<P>,
  controller: AbortController,
  first: boolean,
  dispatch: (action: PagedListAction<P>) => void
): Promise<void> {
  return request.then(
    page => {
      if (!controller.signal.aborted) {
        dispatch({ type: 'page', page, first });
      }
    },
    (reason: unknown) => {
      if (!controller.signal.aborted && !isAbort(reason)) {
        dispatch({ type: 'failed', error: asError(reason), first });
      }
    }
  );
}
