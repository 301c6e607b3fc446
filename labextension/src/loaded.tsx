/**
 * The three faces of a `useAsync` load — an error with a retry, a spinner,
 * or the data rendered — in one place for the views that only differ in
 * what they render.
 */
import * as React from 'react';

import { ErrorState, LoadingState } from './components';
import { IAsyncState } from './hooks';

export function loaded<T>(
  state: IAsyncState<T>,
  reload: () => void,
  render: (data: T) => React.ReactNode,
  label?: string
): React.ReactNode {
  if (state.error && state.data === undefined) {
    return <ErrorState error={state.error} onRetry={reload} />;
  }
  if (state.data === undefined) {
    return <LoadingState label={label} />;
  }
  return render(state.data);
}
