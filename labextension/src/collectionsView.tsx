/**
 * The Collections tab (`GET collections`): a dataset of many files is one
 * row (member count, total size, owners); opening it lists its members
 * (`GET collections/{id}`), each of which opens the usual dataset details.
 */
import * as React from 'react';

import { ICollectionDetail, ICollectionSummary } from './collectionTypes';
import { EmptyState, RelativeTime } from './components';
import { formatBytes, plural, shortDigest } from './format';
import { useAsync } from './hooks';
import { loaded } from './loaded';
import { SidebarModel } from './model';

const PAGE_SIZE = 100;

/** The last path segment of a collection URL (`…/multi/` -> `multi/`). */
export function collectionName(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  const last = trimmed.slice(trimmed.lastIndexOf('/') + 1);
  return url.endsWith('/') ? `${last}/` : last;
}

export function CollectionsView(props: {
  model: SidebarModel;
}): React.ReactElement {
  const { model } = props;
  const [state, reload] = useAsync(
    signal => model.api.listCollections(0, PAGE_SIZE, signal),
    [model.api, model.generation]
  );
  return (
    <>
      {loaded(state, reload, page =>
        page.items.length === 0 ? (
          <EmptyState>
            No collection yet: <code>ddas.fetch_tree(url)</code> registers a
            folder, prefix or glob of files as one.
          </EmptyState>
        ) : (
          <ul className="jp-ddas-collections" data-testid="ddas-collections">
            {page.items.map(item => (
              <CollectionRow
                key={item.id}
                item={item}
                onOpen={() => model.showCollection(item.id)}
              />
            ))}
          </ul>
        )
      )}
    </>
  );
}

function CollectionRow(props: {
  item: ICollectionSummary;
  onOpen: () => void;
}): React.ReactElement {
  const { item, onOpen } = props;
  return (
    <li
      className="jp-ddas-collection"
      data-testid="ddas-collection-row"
      data-collection-id={item.id}
    >
      <button
        type="button"
        className="jp-ddas-group-header"
        title={`Show the files of ${item.url}`}
        onClick={onOpen}
      >
        <span className="jp-ddas-row-name">{collectionName(item.url)}</span>
        <span className="jp-ddas-collection-size">
          {formatBytes(item.size)}
        </span>
      </button>
      <div className="jp-ddas-row-meta" data-testid="ddas-collection-meta">
        {plural(item.members, 'file')} · {item.owners.join(', ') || 'no owner'}
        {item.versions > 1 && ` · ${plural(item.versions, 'version')}`}
      </div>
    </li>
  );
}

export function CollectionDetailsView(props: {
  model: SidebarModel;
  collectionId: number;
}): React.ReactElement {
  const { model, collectionId } = props;
  const [state, reload] = useAsync(
    signal => model.api.getCollection(collectionId, signal),
    [model.api, collectionId, model.generation]
  );
  const body = loaded(state, reload, detail => (
    <CollectionDetail detail={detail} model={model} />
  ));
  return (
    <div className="jp-ddas-details" data-testid="ddas-collection-details">
      <div className="jp-ddas-details-toolbar">
        <button
          type="button"
          className="jp-ddas-button jp-ddas-back"
          data-testid="ddas-collection-back"
          onClick={() => model.closeCollection()}
        >
          ← Back
        </button>
      </div>
      {body}
    </div>
  );
}

function CollectionDetail(props: {
  detail: ICollectionDetail;
  model: SidebarModel;
}): React.ReactElement {
  const { detail, model } = props;
  return (
    <div className="jp-ddas-details-body">
      <h2 className="jp-ddas-details-title" title={detail.url}>
        {collectionName(detail.url)}
      </h2>
      <dl className="jp-ddas-facts">
        <dt>URL</dt>
        <dd>
          <code className="jp-ddas-url">{detail.url}</code>
        </dd>
        <dt>Files</dt>
        <dd>
          {plural(detail.members, 'file')} · {formatBytes(detail.size)}
        </dd>
        <dt>Owners</dt>
        <dd>{detail.owners.join(', ') || '—'}</dd>
        <dt>Version</dt>
        <dd>
          <code title={detail.digest}>{shortDigest(detail.digest)}</code> ·{' '}
          <RelativeTime value={detail.created} />
          {detail.version_list.length > 1 &&
            ` · ${plural(detail.version_list.length, 'version')} of this URL`}
        </dd>
      </dl>
      <section className="jp-ddas-section" aria-label="Files">
        <h3>Files ({detail.member_list.length})</h3>
        <ul className="jp-ddas-members" data-testid="ddas-collection-members">
          {detail.member_list.map(member => (
            <li key={member.path} data-testid="ddas-member-row">
              <button
                type="button"
                className="jp-ddas-button jp-ddas-link"
                title={`Show the details of ${member.path}`}
                onClick={() => model.showDataset(member.content_id)}
              >
                {member.path}
              </button>{' '}
              <span className="jp-ddas-muted">
                {formatBytes(member.size)} ·{' '}
                {plural(member.copy_count, 'copy', 'copies')}
              </span>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
