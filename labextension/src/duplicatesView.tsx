/**
 * The Duplicates tab (`GET duplicates`): contents held in two or more
 * present copies, the largest waste first, with the total that could be
 * reclaimed. A group opens the dataset's details, where copies can be
 * forgotten.
 */
import * as React from 'react';
import { useCallback, useEffect, useState } from 'react';

import { isAbort } from './api';
import { EmptyState, ErrorState, LoadingState, SafeText } from './components';
import {
  formatBytes,
  formatCount,
  plural,
  shortDigest,
  visibleText
} from './format';
import { SidebarModel } from './model';
import { SameDataSection } from './sameDataView';
import { IDuplicateGroup } from './types';

const PAGE_SIZE = 50;
/** Copies listed per group before "+N more". */
const COPIES_SHOWN = 4;

interface IDuplicates {
  items: IDuplicateGroup[];
  total: number;
  wasted: number;
}

/** Exact duplicates first; "same data, different files" in a section below. */
export function DuplicatesView(props: {
  model: SidebarModel;
}): React.ReactElement {
  return (
    <>
      <ExactDuplicates model={props.model} />
      <SameDataSection model={props.model} />
    </>
  );
}

function ExactDuplicates(props: { model: SidebarModel }): React.ReactElement {
  const { model } = props;
  const api = model.api;
  const generation = model.generation;
  const [data, setData] = useState<IDuplicates | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setData(null);
    setError(null);
    api
      .duplicates(0, PAGE_SIZE, controller.signal)
      .then(page => {
        if (!controller.signal.aborted) {
          setData({
            items: byWaste(page.items),
            total: page.total,
            wasted: page.wasted_bytes
          });
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
  }, [api, generation, attempt]);

  const loadMore = useCallback(async () => {
    if (!data || loadingMore) {
      return;
    }
    setLoadingMore(true);
    try {
      const page = await api.duplicates(data.items.length, PAGE_SIZE);
      setData(previous => {
        const items = previous ? previous.items : [];
        const seen = new Set(items.map(item => item.id));
        return {
          items: byWaste(
            items.concat(page.items.filter(item => !seen.has(item.id)))
          ),
          total: page.total,
          wasted: page.wasted_bytes
        };
      });
    } catch (reason) {
      setError(reason instanceof Error ? reason : new Error(String(reason)));
    } finally {
      setLoadingMore(false);
    }
  }, [api, data, loadingMore]);

  if (error) {
    return <ErrorState error={error} onRetry={() => setAttempt(n => n + 1)} />;
  }
  if (!data) {
    return <LoadingState />;
  }
  if (data.items.length === 0) {
    return (
      <EmptyState>
        No duplicates: every dataset is stored once. Nothing to reclaim.
      </EmptyState>
    );
  }
  return (
    <div className="jp-ddas-duplicates">
      <div className="jp-ddas-summary" data-testid="ddas-duplicates-summary">
        <span className="jp-ddas-big-number">{formatBytes(data.wasted)}</span>{' '}
        wasted in {plural(data.total, 'duplicated dataset')}
      </div>
      <ul className="jp-ddas-groups">
        {data.items.map(group => (
          <DuplicateGroup
            key={group.id}
            group={group}
            onOpen={() => model.showDataset(group.id)}
          />
        ))}
      </ul>
      {data.items.length < data.total && (
        <div className="jp-ddas-list-footer">
          {loadingMore ? (
            <LoadingState label="Loading more…" />
          ) : (
            <button
              type="button"
              className="jp-ddas-button"
              onClick={() => void loadMore()}
            >
              Load more ({formatCount(data.total - data.items.length)} left)
            </button>
          )}
        </div>
      )}
    </div>
  );
}

/** Largest waste first, even if the server merged pages in another order. */
function byWaste(items: IDuplicateGroup[]): IDuplicateGroup[] {
  return [...items].sort((a, b) => b.wasted_bytes - a.wasted_bytes);
}

function DuplicateGroup(props: {
  group: IDuplicateGroup;
  onOpen: () => void;
}): React.ReactElement {
  const { group, onOpen } = props;
  const [expanded, setExpanded] = useState(false);
  const name = group.name || shortDigest(group.blake3);
  const present = group.copy_list.filter(copy => copy.state === 'present');
  const copies = present.length > 0 ? present : group.copy_list;
  const shown = expanded ? copies : copies.slice(0, COPIES_SHOWN);
  return (
    <li
      className="jp-ddas-group"
      data-testid="ddas-duplicate-group"
      data-dataset-id={group.id}
    >
      <button
        type="button"
        className="jp-ddas-group-header"
        aria-label={`Show the details of ${visibleText(name)}`}
        onClick={onOpen}
      >
        <span className="jp-ddas-row-name">
          <SafeText value={name} />
        </span>
        <span className="jp-ddas-group-waste">
          {formatBytes(group.wasted_bytes)} wasted
        </span>
      </button>
      <div className="jp-ddas-row-meta">
        {plural(group.copy_count, 'copy', 'copies')} of{' '}
        {formatBytes(group.size)}
      </div>
      <ul className="jp-ddas-group-copies">
        {shown.map(copy => (
          <li key={copy.id}>
            <SafeText code className="jp-ddas-path" value={copy.location} />{' '}
            <span className="jp-ddas-muted">
              <SafeText value={copy.owner} max={64} />
            </span>
          </li>
        ))}
      </ul>
      {copies.length > shown.length && (
        <button
          type="button"
          className="jp-ddas-button jp-ddas-link"
          onClick={() => setExpanded(true)}
        >
          +{copies.length - shown.length} more
        </button>
      )}
    </li>
  );
}
