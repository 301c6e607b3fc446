/**
 * Small presentational pieces shared by the views. The loading, empty and
 * error states carry the `data-testid`s browser tests look for, so every
 * view reports its state the same way.
 */
import * as React from 'react';

import {
  formatDateTime,
  formatRelativeTime,
  MAX_SHOWN,
  shownText
} from './format';
import { CopyState } from './types';

export function LoadingState(props: { label?: string }): React.ReactElement {
  return (
    <div
      className="jp-ddas-state jp-ddas-loading"
      data-testid="ddas-loading"
      role="status"
      aria-live="polite"
    >
      <span className="jp-ddas-spinner" aria-hidden="true" />
      {props.label ?? 'Loading…'}
    </div>
  );
}

export function EmptyState(props: {
  children: React.ReactNode;
}): React.ReactElement {
  return (
    <div className="jp-ddas-state jp-ddas-empty" data-testid="ddas-empty">
      {props.children}
    </div>
  );
}

/** An error with the server's message and, when possible, a retry button. */
export function ErrorState(props: {
  error: Error;
  onRetry?: () => void;
}): React.ReactElement {
  return (
    <div
      className="jp-ddas-state jp-ddas-error"
      data-testid="ddas-error"
      role="alert"
    >
      <span className="jp-ddas-error-message">{props.error.message}</span>
      {props.onRetry && (
        <button
          type="button"
          className="jp-ddas-button"
          onClick={props.onRetry}
        >
          Retry
        </button>
      )}
    </div>
  );
}

const STATE_LABELS: { [state in CopyState]: string } = {
  present: 'present',
  missing: 'missing',
  corrupt: 'corrupt',
  unhashed: 'not hashed yet'
};

/** A coloured pill telling whether a copy can be trusted. */
export function StateBadge(props: { state: CopyState }): React.ReactElement {
  const label = STATE_LABELS[props.state] ?? String(props.state);
  return (
    <span className={`jp-ddas-badge jp-ddas-badge-${props.state}`}>
      {label}
    </span>
  );
}

/** "2 days ago", with the exact local time as a tooltip. */
export function RelativeTime(props: {
  value: string | null | undefined;
  never?: string;
}): React.ReactElement {
  return (
    <time
      dateTime={props.value ?? undefined}
      title={formatDateTime(props.value)}
    >
      {formatRelativeTime(props.value, new Date(), props.never)}
    </time>
  );
}

/**
 * A name, URL, owner or path from the registry, as it is: hidden and bidi
 * characters escaped (`\u202e`), isolated left-to-right (`<bdi dir="ltr">`) so
 * it cannot reorder the text around it, cut beyond `max` characters with the
 * full text on hover. Every view shows registry text through this.
 */
export function SafeText(props: {
  value: string | null | undefined;
  max?: number;
  className?: string;
  code?: boolean;
}): React.ReactElement {
  const { text, title } = shownText(props.value, props.max ?? MAX_SHOWN);
  const inner = (
    <bdi
      dir="ltr"
      className={props.code ? undefined : props.className}
      title={title}
    >
      {text}
    </bdi>
  );
  return props.code ? <code className={props.className}>{inner}</code> : inner;
}
