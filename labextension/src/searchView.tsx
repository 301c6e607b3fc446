/**
 * The Search tab: find datasets by name, URL or digest.
 *
 * Typing is debounced (Enter searches at once); results come in pages of
 * 100 and the next page loads when the user scrolls near the end (or presses
 * "Load more"), while a windowed list keeps only visible rows in the DOM.
 */
import * as React from 'react';
import { useCallback, useEffect, useRef, useState } from 'react';

import { isAbort } from './api';
import {
  EmptyState,
  ErrorState,
  LoadingState,
  RelativeTime,
  SafeText
} from './components';
import {
  formatBytes,
  formatCount,
  plural,
  shortDigest,
  visibleText
} from './format';
import { SidebarModel } from './model';
import { DatasetSort, IDatasetSummary, IPage } from './types';
import { VirtualList } from './virtualList';

const PAGE_SIZE = 100;
const ROW_HEIGHT = 52;
const DEBOUNCE_MS = 300;

const SORTS: { value: DatasetSort; label: string }[] = [
  { value: '-last_used', label: 'Recently used' },
  { value: 'name', label: 'Name' },
  { value: '-size', label: 'Largest' },
  { value: '-copies', label: 'Most copies' }
];

interface IResults {
  items: IDatasetSummary[];
  total: number;
  /** False while `total` is the server's estimate (see `IPage.total_exact`). */
  exact: boolean;
}

/**
 * Results after a page arrived. A short page is the end of the list, which
 * turns an estimated total into the exact count.
 */
function withPage(
  items: IDatasetSummary[],
  page: IPage<IDatasetSummary>
): IResults {
  const exact = page.total_exact !== false;
  if (!exact && page.items.length < page.limit) {
    return { items, total: items.length, exact: true };
  }
  return { items, total: Math.max(page.total, items.length), exact };
}

export function SearchView(props: { model: SidebarModel }): React.ReactElement {
  const { model } = props;
  const api = model.api;
  const generation = model.generation;
  const me = model.whoami?.user ?? null;

  const [text, setText] = useState('');
  const [query, setQuery] = useState('');
  const [sort, setSort] = useState<DatasetSort>('-last_used');
  const [mineOnly, setMineOnly] = useState(false);
  const [results, setResults] = useState<IResults | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [moreError, setMoreError] = useState<Error | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const inFlight = useRef<AbortController | null>(null);

  const owner = mineOnly && me ? me : undefined;

  // Debounce: the query follows the text once typing pauses.
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(text.trim()), DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [text]);

  // First page, whenever what is asked (or a refresh) changes.
  useEffect(() => {
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    setResults(null);
    setError(null);
    setMoreError(null);
    setLoadingMore(false);
    api
      .listDatasets(
        { q: query || undefined, sort, owner, offset: 0, limit: PAGE_SIZE },
        controller.signal
      )
      .then(page => {
        if (!controller.signal.aborted) {
          setResults(withPage(page.items, page));
        }
      })
      .catch((reason: unknown) => {
        if (!controller.signal.aborted && !isAbort(reason)) {
          setError(
            reason instanceof Error ? reason : new Error(String(reason))
          );
        }
      });
    return () => controller.abort();
  }, [api, query, sort, owner, generation]);

  const loadMore = useCallback(() => {
    if (
      !results ||
      (results.exact && results.items.length >= results.total) ||
      loadingMore ||
      moreError
    ) {
      return;
    }
    const controller = new AbortController();
    inFlight.current = controller;
    setLoadingMore(true);
    api
      .listDatasets(
        {
          q: query || undefined,
          sort,
          owner,
          offset: results.items.length,
          limit: PAGE_SIZE
        },
        controller.signal
      )
      .then(page => {
        if (controller.signal.aborted) {
          return;
        }
        setResults(previous => {
          const items = previous ? previous.items : [];
          // Rows may shift between pages; never show one dataset twice.
          const seen = new Set(items.map(item => item.id));
          return withPage(
            items.concat(page.items.filter(item => !seen.has(item.id))),
            page
          );
        });
        setLoadingMore(false);
      })
      .catch((reason: unknown) => {
        if (!controller.signal.aborted && !isAbort(reason)) {
          setMoreError(
            reason instanceof Error ? reason : new Error(String(reason))
          );
          setLoadingMore(false);
        }
      });
  }, [api, query, sort, owner, results, loadingMore, moreError]);

  const open = (dataset: IDatasetSummary) => model.showDataset(dataset.id);

  const onInputKey = (event: React.KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'Enter') {
      setQuery(text.trim());
    } else if (event.key === 'Escape' && text) {
      event.stopPropagation();
      setText('');
      setQuery('');
    } else if (event.key === 'ArrowDown') {
      const row = event.currentTarget
        .closest('.jp-ddas-search')
        ?.querySelector<HTMLElement>('[data-index="0"]');
      if (row) {
        event.preventDefault();
        row.focus();
      }
    }
  };

  let body: React.ReactNode;
  if (error) {
    body = <ErrorState error={error} onRetry={model.refresh.bind(model)} />;
  } else if (!results) {
    body = <LoadingState label="Searching…" />;
  } else if (results.items.length === 0) {
    body = (
      <EmptyState>
        {query ? (
          <>
            No dataset matches <q>{query}</q>.
          </>
        ) : owner ? (
          'You own no registered dataset yet.'
        ) : (
          'No dataset is registered yet. Datasets appear here once fetched with ddas.fetch() or found by a scan.'
        )}
      </EmptyState>
    );
  } else {
    // With an estimated total, more may come even when the estimate is reached.
    const remaining = Math.max(
      results.total - results.items.length,
      results.exact ? 0 : 1
    );
    body = (
      <VirtualList
        items={results.items}
        rowHeight={ROW_HEIGHT}
        label="Datasets"
        onNearEnd={loadMore}
        renderRow={(dataset, index, style) => (
          <ResultRow
            key={dataset.id}
            dataset={dataset}
            index={index}
            style={style}
            onOpen={open}
          />
        )}
        footer={
          remaining > 0 || moreError || loadingMore ? (
            <div className="jp-ddas-list-footer">
              {moreError ? (
                <ErrorState
                  error={moreError}
                  onRetry={() => setMoreError(null)}
                />
              ) : loadingMore ? (
                <LoadingState label="Loading more…" />
              ) : (
                <button
                  type="button"
                  className="jp-ddas-button"
                  data-testid="ddas-load-more"
                  onClick={loadMore}
                >
                  Load more ({results.exact ? '' : 'about '}
                  {formatCount(remaining)} left)
                </button>
              )}
            </div>
          ) : null
        }
      />
    );
  }

  return (
    <div className="jp-ddas-search">
      <div className="jp-ddas-searchbar">
        <input
          type="search"
          className="jp-ddas-search-input"
          data-testid="ddas-search-input"
          aria-label="Search datasets by name, URL or digest"
          placeholder="Search name, URL or digest"
          spellCheck={false}
          autoComplete="off"
          value={text}
          onChange={event => setText(event.target.value)}
          onKeyDown={onInputKey}
        />
        <div className="jp-ddas-search-options">
          <label className="jp-ddas-inline-label">
            Sort
            <select
              className="jp-ddas-select"
              value={sort}
              onChange={event => setSort(event.target.value as DatasetSort)}
            >
              {SORTS.map(option => (
                <option key={option.value} value={option.value}>
                  {option.label}
                </option>
              ))}
            </select>
          </label>
          <label
            className="jp-ddas-inline-label"
            title={me ? `Only datasets with a copy owned by ${me}` : ''}
          >
            <input
              type="checkbox"
              checked={mineOnly}
              disabled={!me}
              onChange={event => setMineOnly(event.target.checked)}
            />
            Mine only
          </label>
        </div>
        {results && (
          <div className="jp-ddas-count" aria-live="polite">
            {results.exact
              ? plural(results.total, 'dataset')
              : `about ${plural(results.total, 'dataset')}`}
          </div>
        )}
      </div>
      {body}
    </div>
  );
}

function ResultRow(props: {
  dataset: IDatasetSummary;
  index: number;
  style: React.CSSProperties;
  onOpen: (dataset: IDatasetSummary) => void;
}): React.ReactElement {
  const { dataset, index, style, onOpen } = props;
  const name = dataset.name || shortDigest(dataset.blake3);
  const owners = dataset.owners.slice(0, 3).join(', ');
  const more =
    dataset.owners.length > 3 ? ` +${dataset.owners.length - 3}` : '';
  const tooltip = [name, ...dataset.urls.slice(0, 3)]
    .map(text => visibleText(text))
    .join('\n');
  return (
    <div
      className="jp-ddas-row"
      role="listitem"
      tabIndex={0}
      data-testid="ddas-result-row"
      data-dataset-id={dataset.id}
      data-index={index}
      style={style}
      title={tooltip}
      aria-label={`${visibleText(name)}, ${formatBytes(dataset.size)}, ${plural(dataset.copy_count, 'copy', 'copies')}`}
      onClick={() => onOpen(dataset)}
      onKeyDown={event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onOpen(dataset);
        }
      }}
    >
      <div className="jp-ddas-row-main">
        <span className="jp-ddas-row-name">
          <SafeText value={name} />
        </span>
        <span className="jp-ddas-row-size">{formatBytes(dataset.size)}</span>
      </div>
      <div className="jp-ddas-row-meta">
        <span className="jp-ddas-row-copies">
          {plural(dataset.copy_count, 'copy', 'copies')}
        </span>
        {owners && (
          <span className="jp-ddas-row-owners">
            <SafeText value={owners} max={80} />
            {more}
          </span>
        )}
        <span className="jp-ddas-row-used">
          {dataset.last_used ? (
            <>
              used <RelativeTime value={dataset.last_used} />
            </>
          ) : (
            'never used'
          )}
        </span>
      </div>
    </div>
  );
}
