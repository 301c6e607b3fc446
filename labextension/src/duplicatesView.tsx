/**
 * The Duplicates tab (`GET duplicates`): contents held in two or more
 * present copies, the largest waste first, with the total that could be
 * reclaimed. A group opens the dataset's details, where copies can be
 * forgotten.
 */
import * as React from 'react';
import { useMemo, useState } from 'react';

import { EmptyState, ErrorState, LoadingState, SafeText } from './components';
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
import { SameDataSection } from './sameDataView';
import { IDuplicateGroup, IDuplicatesPage } from './types';

const PAGE_SIZE = 50;
/** Copies listed per group before "+N more". */
const COPIES_SHOWN = 4;

type Duplicates = IPagedListHandle<IDuplicateGroup, IDuplicatesPage>;

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
  const list: Duplicates = usePagedList(
    ({ offset }, signal) => api.duplicates(offset, PAGE_SIZE, signal),
    [api, model.generation]
  );
  const groups = useMemo(() => byWaste(list.items), [list.items]);
  // A failed next page fails the tab too: the retry starts from the top.
  const error = list.error ?? list.moreError;
  if (error) {
    return <ErrorState error={error} onRetry={list.reload} />;
  }
  if (!list.page) {
    return <LoadingState />;
  }
  if (groups.length === 0) {
    return (
      <EmptyState>
        No duplicates: every dataset is stored once. Nothing to reclaim.
      </EmptyState>
    );
  }
  return (
    <div className="jp-ddas-duplicates">
      <div className="jp-ddas-summary" data-testid="ddas-duplicates-summary">
        <span className="jp-ddas-big-number">
          {formatBytes(list.page.wasted_bytes)}
        </span>{' '}
        wasted in {plural(list.page.total, 'duplicated dataset')}
      </div>
      <ul className="jp-ddas-groups">
        {groups.map(group => (
          <DuplicateGroup
            key={group.id}
            group={group}
            onOpen={() => model.showDataset(group.id)}
          />
        ))}
      </ul>
      <DuplicatesFooter list={list} />
    </div>
  );
}

/** "Load more (N left)" while groups remain, a spinner while they load. */
function DuplicatesFooter(props: {
  list: Duplicates;
}): React.ReactElement | null {
  const { list } = props;
  const remaining = remainingRows(list);
  if (remaining === 0) {
    return null;
  }
  return (
    <div className="jp-ddas-list-footer">
      {list.loadingMore ? (
        <LoadingState label="Loading more…" />
      ) : (
        <button
          type="button"
          className="jp-ddas-button"
          onClick={list.loadMore}
        >
          Load more ({formatCount(remaining)} left)
        </button>
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
