/**
 * The Search tab: find datasets by name, URL or digest.
 *
 * Typing is debounced (Enter searches at once); results come in pages of
 * 100 and the next page loads when the user scrolls near the end (or presses
 * "Load more"), while a windowed list keeps only visible rows in the DOM.
 */
import * as React from 'react';
import { useEffect, useState } from 'react';

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
import { IPagedListHandle, usePagedList } from './hooks';
import { SidebarModel } from './model';
import { remainingRows } from './pagedList';
import { DatasetSort, IDatasetPage, IDatasetSummary } from './types';
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

type Results = IPagedListHandle<IDatasetSummary, IDatasetPage>;

/** What the user asks for, and how they change it. */
interface ISearchQuery {
  text: string;
  setText: (text: string) => void;
  /** The text once typing paused (or Enter was pressed), trimmed. */
  query: string;
  setQuery: (query: string) => void;
  sort: DatasetSort;
  setSort: (sort: DatasetSort) => void;
  mineOnly: boolean;
  setMineOnly: (mineOnly: boolean) => void;
}

/** The search's inputs; the query follows the text once typing pauses. */
function useSearchQuery(): ISearchQuery {
  const [text, setText] = useState('');
  const [query, setQuery] = useState('');
  const [sort, setSort] = useState<DatasetSort>('-last_used');
  const [mineOnly, setMineOnly] = useState(false);
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(text.trim()), DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [text]);
  return {
    text,
    setText,
    query,
    setQuery,
    sort,
    setSort,
    mineOnly,
    setMineOnly
  };
}

export function SearchView(props: { model: SidebarModel }): React.ReactElement {
  const { model } = props;
  const api = model.api;
  const me = model.whoami?.user ?? null;
  const search = useSearchQuery();
  const { query, sort } = search;
  const owner = search.mineOnly && me ? me : undefined;
  // The first page whenever what is asked (or a refresh) changes.
  const results: Results = usePagedList(
    ({ offset }, signal) =>
      api.listDatasets(
        { q: query || undefined, sort, owner, offset, limit: PAGE_SIZE },
        signal
      ),
    [api, query, sort, owner, model.generation]
  );
  return (
    <div className="jp-ddas-search">
      <SearchBar model={model} search={search} me={me} results={results} />
      <SearchResults
        model={model}
        results={results}
        query={query}
        owner={owner}
      />
    </div>
  );
}

/** Enter searches at once, Escape clears, ArrowDown moves to the rows. */
function onSearchKey(
  event: React.KeyboardEvent<HTMLInputElement>,
  search: ISearchQuery
): void {
  if (event.key === 'Enter') {
    search.setQuery(search.text.trim());
  } else if (event.key === 'Escape' && search.text) {
    event.stopPropagation();
    search.setText('');
    search.setQuery('');
  } else if (event.key === 'ArrowDown') {
    const row = event.currentTarget
      .closest('.jp-ddas-search')
      ?.querySelector<HTMLElement>('[data-index="0"]');
    if (row) {
      event.preventDefault();
      row.focus();
    }
  }
}

function SearchBar(props: {
  model: SidebarModel;
  search: ISearchQuery;
  me: string | null;
  results: Results;
}): React.ReactElement {
  const { model, search, me, results } = props;
  return (
    <div className="jp-ddas-searchbar">
      <input
        type="search"
        className="jp-ddas-search-input"
        data-testid="ddas-search-input"
        ref={box => {
          if (box !== null && model.takeSearchFocus()) {
            box.focus();
          }
        }}
        aria-label="Search datasets by name, URL or digest"
        placeholder="Search name, URL or digest"
        spellCheck={false}
        autoComplete="off"
        value={search.text}
        onChange={event => search.setText(event.target.value)}
        onKeyDown={event => onSearchKey(event, search)}
      />
      <SearchOptions search={search} me={me} />
      {results.page && (
        <div className="jp-ddas-count" aria-live="polite">
          {results.exact
            ? plural(results.total, 'dataset')
            : `about ${plural(results.total, 'dataset')}`}
        </div>
      )}
    </div>
  );
}

function SearchOptions(props: {
  search: ISearchQuery;
  me: string | null;
}): React.ReactElement {
  const { search, me } = props;
  return (
    <div className="jp-ddas-search-options">
      <label className="jp-ddas-inline-label">
        Sort
        <select
          className="jp-ddas-select"
          value={search.sort}
          onChange={event => search.setSort(event.target.value as DatasetSort)}
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
          checked={search.mineOnly}
          disabled={!me}
          onChange={event => search.setMineOnly(event.target.checked)}
        />
        Mine only
      </label>
    </div>
  );
}

function SearchResults(props: {
  model: SidebarModel;
  results: Results;
  query: string;
  owner: string | undefined;
}): React.ReactElement {
  const { model, results, query, owner } = props;
  if (results.error) {
    return (
      <ErrorState error={results.error} onRetry={model.refresh.bind(model)} />
    );
  }
  if (!results.page) {
    return <LoadingState label="Searching…" />;
  }
  if (results.items.length === 0) {
    return (
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
  }
  const open = (dataset: IDatasetSummary) => model.showDataset(dataset.id);
  return (
    <VirtualList
      items={results.items}
      rowHeight={ROW_HEIGHT}
      label="Datasets"
      onNearEnd={results.loadMore}
      renderRow={(dataset, index, style) => (
        <ResultRow
          key={dataset.id}
          dataset={dataset}
          index={index}
          style={style}
          onOpen={open}
        />
      )}
      footer={<SearchFooter results={results} />}
    />
  );
}

/** "Load more (about N left)", its spinner, or why the next page failed. */
function SearchFooter(props: { results: Results }): React.ReactElement | null {
  const { results } = props;
  const remaining = remainingRows(results);
  if (remaining === 0 && !results.moreError && !results.loadingMore) {
    return null;
  }
  return (
    <div className="jp-ddas-list-footer">
      {results.moreError ? (
        <ErrorState error={results.moreError} onRetry={results.retryMore} />
      ) : results.loadingMore ? (
        <LoadingState label="Loading more…" />
      ) : (
        <button
          type="button"
          className="jp-ddas-button"
          data-testid="ddas-load-more"
          onClick={results.loadMore}
        >
          Load more ({results.exact ? '' : 'about '}
          {formatCount(remaining)} left)
        </button>
      )}
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
      <ResultMeta dataset={dataset} />
    </div>
  );
}

/** Copies, the first owners and when the dataset was last used. */
function ResultMeta(props: { dataset: IDatasetSummary }): React.ReactElement {
  const { dataset } = props;
  const owners = dataset.owners.slice(0, 3).join(', ');
  const more =
    dataset.owners.length > 3 ? ` +${dataset.owners.length - 3}` : '';
  return (
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
  );
}
