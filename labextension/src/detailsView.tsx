/**
 * Details of one dataset (`GET datasets/{id}`): every copy with its owner,
 * place and state, the URLs and versions it came from, and its history.
 * Per-copy actions (copy path, insert `ddas.open`, open in the file browser,
 * forget) are delegated to `IDatasetActions`.
 */
import * as React from 'react';
import { useState } from 'react';

import { AboutSection } from './aboutSection';
import {
  EmptyState,
  ErrorState,
  LoadingState,
  RelativeTime,
  SafeText,
  StateBadge
} from './components';
import { formatBytes, formatDateTime, plural, shortDigest } from './format';
import { useAsync } from './hooks';
import { SidebarModel } from './model';
import { ICopy, IDatasetDetail, IDdasEvent, ISource } from './types';

/** How many events to list before "Show all". */
const EVENTS_SHOWN = 20;

export function DetailsView(props: {
  model: SidebarModel;
  datasetId: number;
}): React.ReactElement {
  const { model, datasetId } = props;
  const [state, reload] = useAsync(
    signal => model.api.getDataset(datasetId, signal),
    [model.api, datasetId, model.generation]
  );

  let body: React.ReactNode;
  if (state.error && !state.data) {
    body = <ErrorState error={state.error} onRetry={reload} />;
  } else if (!state.data) {
    body = <LoadingState />;
  } else {
    body = (
      <DatasetDetail
        dataset={state.data}
        model={model}
        onChanged={() => model.refresh()}
      />
    );
  }

  return (
    <div className="jp-ddas-details" data-testid="ddas-details">
      <div className="jp-ddas-details-toolbar">
        <button
          type="button"
          className="jp-ddas-button jp-ddas-back"
          data-testid="ddas-details-back"
          onClick={() => model.closeDataset()}
        >
          ← Back
        </button>
        {state.loading && state.data && (
          <span className="jp-ddas-muted" role="status">
            Refreshing…
          </span>
        )}
      </div>
      {body}
    </div>
  );
}

function DatasetDetail(props: {
  dataset: IDatasetDetail;
  model: SidebarModel;
  onChanged: () => void;
}): React.ReactElement {
  const { dataset, model, onChanged } = props;
  const name = dataset.name || shortDigest(dataset.blake3);
  return (
    <div className="jp-ddas-details-body">
      <h2 className="jp-ddas-details-title">
        <SafeText value={name} />
      </h2>
      <DatasetFacts dataset={dataset} />

      <AboutSection model={model} datasetId={dataset.id} />

      <section className="jp-ddas-section" aria-label="Copies">
        <h3>Copies ({dataset.copy_list.length})</h3>
        {dataset.copy_list.length === 0 ? (
          <EmptyState>No copy is registered for this dataset.</EmptyState>
        ) : (
          <ul className="jp-ddas-copies">
            {dataset.copy_list.map(copy => (
              <CopyRow
                key={copy.id}
                copy={copy}
                datasetName={name}
                model={model}
                onChanged={onChanged}
              />
            ))}
          </ul>
        )}
      </section>

      <section className="jp-ddas-section" aria-label="Sources">
        <h3>Sources ({dataset.sources.length})</h3>
        {dataset.sources.length === 0 ? (
          <p className="jp-ddas-muted">
            No known URL: this dataset was found on disk by a scan.
          </p>
        ) : (
          <ul className="jp-ddas-sources">
            {dataset.sources.map(source => (
              <SourceRow key={source.id} source={source} />
            ))}
          </ul>
        )}
      </section>

      <section className="jp-ddas-section" aria-label="History">
        <h3>History</h3>
        <EventList events={dataset.events} />
      </section>
    </div>
  );
}

/** Size, copies, last use and every digest of the dataset. */
function DatasetFacts(props: { dataset: IDatasetDetail }): React.ReactElement {
  const { dataset } = props;
  const otherDigests = Object.entries(dataset.digests).filter(
    ([algorithm]) => algorithm !== 'blake3'
  );
  return (
    <dl className="jp-ddas-facts">
      <dt>Size</dt>
      <dd>
        <span title={`${dataset.size.toLocaleString()} bytes`}>
          {formatBytes(dataset.size)}
        </span>
      </dd>
      <dt>Copies</dt>
      <dd>
        {plural(dataset.copy_count, 'present copy', 'present copies')}
        {dataset.owners.length > 0 && (
          <>
            {' · '}
            <SafeText value={dataset.owners.join(', ')} />
          </>
        )}
      </dd>
      <dt>Last used</dt>
      <dd>
        <RelativeTime value={dataset.last_used} />
      </dd>
      {[['BLAKE3', dataset.blake3], ...otherDigests].map(([algorithm, hex]) => (
        <React.Fragment key={algorithm}>
          <dt>{algorithm}</dt>
          <dd>
            <code className="jp-ddas-digest" title={hex}>
              {hex}
            </code>
          </dd>
        </React.Fragment>
      ))}
    </dl>
  );
}

function CopyRow(props: {
  copy: ICopy;
  datasetName: string;
  model: SidebarModel;
  onChanged: () => void;
}): React.ReactElement {
  const { copy } = props;
  return (
    <li
      className={`jp-ddas-copy jp-ddas-copy-${copy.state}`}
      data-testid="ddas-copy-row"
      data-copy-id={copy.id}
    >
      <SafeText code className="jp-ddas-path" value={copy.location} />
      <CopyMeta copy={copy} />
      <CopyActions {...props} />
    </li>
  );
}

/** State, owner, host, whether in the store, and when last verified. */
function CopyMeta(props: { copy: ICopy }): React.ReactElement {
  const { copy } = props;
  return (
    <div className="jp-ddas-copy-meta">
      <StateBadge state={copy.state} />
      <span className="jp-ddas-copy-owner" aria-label="Owner">
        <SafeText value={copy.owner} max={64} />
      </span>
      {copy.host && (
        <span className="jp-ddas-copy-host" aria-label="Host">
          <SafeText value={copy.host} max={64} />
        </span>
      )}
      {copy.in_store && (
        <span className="jp-ddas-copy-store" title="In the shared DDAS store">
          store
        </span>
      )}
      <span className="jp-ddas-copy-verified">
        {copy.verified_at ? (
          <>
            verified <RelativeTime value={copy.verified_at} />
          </>
        ) : (
          'never verified'
        )}
      </span>
    </div>
  );
}

/** Copy path, insert `ddas.open(…)`, open in the file browser, forget. */
function CopyActions(props: {
  copy: ICopy;
  datasetName: string;
  model: SidebarModel;
  onChanged: () => void;
}): React.ReactElement {
  const { copy, model } = props;
  const actions = model.actions;
  return (
    <div className="jp-ddas-copy-actions">
      <button
        type="button"
        className="jp-ddas-button"
        data-testid="ddas-action-copy-path"
        title="Copy this path to the clipboard"
        onClick={() => actions.copyPath(copy)}
      >
        Copy path
      </button>
      <button
        type="button"
        className="jp-ddas-button jp-ddas-button-accent"
        data-testid="ddas-action-insert"
        title="Insert ddas.open(…) for this copy into the active notebook cell"
        onClick={() => actions.insertOpen(copy)}
      >
        Insert ddas.open
      </button>
      {actions.canOpenInFileBrowser(copy) && (
        <button
          type="button"
          className="jp-ddas-button"
          data-testid="ddas-action-open"
          title="Show this file in the file browser"
          onClick={() => void actions.openInFileBrowser(copy)}
        >
          Open in file browser
        </button>
      )}
      {actions.canForget(copy) && <ForgetButton {...props} />}
    </div>
  );
}

/** Forget the copy (after the user confirms), disabled while it runs. */
function ForgetButton(props: {
  copy: ICopy;
  datasetName: string;
  model: SidebarModel;
  onChanged: () => void;
}): React.ReactElement {
  const { copy, datasetName, model, onChanged } = props;
  const [busy, setBusy] = useState(false);
  const forget = async () => {
    setBusy(true);
    try {
      if (await model.actions.forget(copy, datasetName)) {
        onChanged();
      }
    } finally {
      setBusy(false);
    }
  };
  return (
    <button
      type="button"
      className="jp-ddas-button jp-ddas-button-warn"
      data-testid="ddas-action-forget"
      title="Remove this copy from the registry"
      disabled={busy}
      onClick={() => void forget()}
    >
      Forget copy
    </button>
  );
}

function SourceRow(props: { source: ISource }): React.ReactElement {
  const { source } = props;
  const validators: string[] = [];
  if (source.etag) {
    validators.push(`ETag ${source.etag}`);
  }
  if (source.last_modified) {
    validators.push(
      `modified ${formatDateTime(source.last_modified) || source.last_modified}`
    );
  }
  if (source.size !== null) {
    validators.push(formatBytes(source.size));
  }
  return (
    <li className="jp-ddas-source" data-testid="ddas-source-row">
      <SafeText code className="jp-ddas-url" value={source.url} />
      <div className="jp-ddas-source-meta">
        {validators.length > 0 && <span>{validators.join(' · ')}</span>}
        <span>
          seen <RelativeTime value={source.first_seen} />
          {source.last_seen !== source.first_seen && (
            <>
              {' '}
              to <RelativeTime value={source.last_seen} />
            </>
          )}
        </span>
      </div>
    </li>
  );
}

const EVENT_VERBS: { [kind in IDdasEvent['kind']]: string } = {
  download: 'downloaded',
  reuse: 'reused',
  alert: 'was alerted',
  scan: 'found by scan',
  verify: 'verified',
  forget: 'forgot a copy'
};

function EventList(props: { events: IDdasEvent[] }): React.ReactElement {
  const [showAll, setShowAll] = useState(false);
  if (props.events.length === 0) {
    return <p className="jp-ddas-muted">No recorded event.</p>;
  }
  // Newest first, whatever order the server used.
  const events = [...props.events].sort((a, b) => b.id - a.id);
  const shown = showAll ? events : events.slice(0, EVENTS_SHOWN);
  return (
    <>
      <ul className="jp-ddas-events">
        {shown.map(event => (
          <li
            key={event.id}
            className={`jp-ddas-event jp-ddas-event-${event.kind}`}
          >
            <span className="jp-ddas-event-user">
              <SafeText value={event.user} max={64} />
            </span>{' '}
            <span className="jp-ddas-event-kind">
              {EVENT_VERBS[event.kind] ?? event.kind}
            </span>
            {event.bytes > 0 && (
              <span className="jp-ddas-event-bytes">
                {' '}
                · {formatBytes(event.bytes)}
              </span>
            )}{' '}
            · <RelativeTime value={event.at} />
          </li>
        ))}
      </ul>
      {events.length > shown.length && (
        <button
          type="button"
          className="jp-ddas-button jp-ddas-link"
          onClick={() => setShowAll(true)}
        >
          Show all {events.length} events
        </button>
      )}
    </>
  );
}
