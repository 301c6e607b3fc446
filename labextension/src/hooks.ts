/**
 * Small React hooks shared by the views: following a Lumino signal, loading
 * data with cancellation, and debouncing typed input.
 */
import { ISignal } from '@lumino/signaling';
import {
  DependencyList,
  useCallback,
  useEffect,
  useRef,
  useState
} from 'react';

import { isAbort } from './api';

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
          error: error instanceof Error ? error : new Error(String(error)),
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
