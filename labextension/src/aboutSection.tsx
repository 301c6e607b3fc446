/**
 * What a dataset is, beyond its bytes (`GET datasets/{id}/metadata`): the
 * metadata its file declares (variables, coverage, schema), what people
 * wrote about it (tags, description, license, DOI; editable by owners and
 * admins through `PATCH datasets/{id}/annotations`), and the collections it
 * belongs to.
 */
import * as React from 'react';
import { useState } from 'react';

import {
  IAnnotation,
  IAnnotationChange,
  IDatasetAbout,
  IMetadata
} from './collectionTypes';
import { collectionName } from './collectionsView';
import { ErrorState } from './components';
import { plural } from './format';
import { asError, useAsync } from './hooks';
import { loaded } from './loaded';
import { SidebarModel } from './model';

const VARIABLES_SHOWN = 30;

export function AboutSection(props: {
  model: SidebarModel;
  datasetId: number;
}): React.ReactElement {
  const { model, datasetId } = props;
  const [state, reload] = useAsync(
    signal => model.api.getAbout(datasetId, signal),
    [model.api, datasetId, model.generation]
  );
  return (
    <>
      {loaded(
        state,
        reload,
        about => (
          <AboutBody
            about={about}
            model={model}
            datasetId={datasetId}
            onSaved={reload}
          />
        ),
        'Loading metadata…'
      )}
    </>
  );
}

function AboutBody(props: {
  about: IDatasetAbout;
  model: SidebarModel;
  datasetId: number;
  onSaved: () => void;
}): React.ReactElement {
  const { about, model, datasetId, onSaved } = props;
  return (
    <>
      <section
        className="jp-ddas-section"
        aria-label="Metadata"
        data-testid="ddas-metadata"
      >
        <h3>What the file says</h3>
        {about.metadata ? (
          <MetadataBlock metadata={about.metadata} />
        ) : (
          <p className="jp-ddas-muted">
            No metadata: not a format DDAS reads (NetCDF, HDF5, Parquet, CSV,
            Zarr), not extracted yet, or the readers (ddas[meta]) are absent.
          </p>
        )}
      </section>
      <section
        className="jp-ddas-section"
        aria-label="Annotations"
        data-testid="ddas-annotations"
      >
        <h3>What people say</h3>
        <Annotations
          about={about}
          model={model}
          datasetId={datasetId}
          onSaved={onSaved}
        />
      </section>
      <InCollections about={about} model={model} />
    </>
  );
}

/** One term and its description in a `jp-ddas-facts` list. */
function Fact(props: {
  term: string;
  children: React.ReactNode;
}): React.ReactElement {
  return (
    <>
      <dt>{props.term}</dt>
      <dd>{props.children}</dd>
    </>
  );
}

function range(bounds: { min: number; max: number }): string {
  return `${bounds.min} … ${bounds.max}`;
}

function MetadataBlock(props: { metadata: IMetadata }): React.ReactElement {
  const { metadata } = props;
  const doc = metadata.doc;
  const variables = (doc.variables ?? []).slice(0, VARIABLES_SHOWN);
  const attrs = Object.entries(doc.attrs ?? {});
  return (
    <>
      <p className="jp-ddas-meta-summary" data-testid="ddas-metadata-summary">
        {metadata.summary}
      </p>
      <dl className="jp-ddas-facts">
        <dt>Format</dt>
        <dd>{metadata.format}</dd>
        {doc.time && (
          <Fact term="Time">
            {doc.time.start} … {doc.time.end}
          </Fact>
        )}
        {doc.lat && <Fact term="Latitude">{range(doc.lat)}</Fact>}
        {doc.lon && <Fact term="Longitude">{range(doc.lon)}</Fact>}
        {doc.rows !== undefined && (
          <Fact term="Rows">{doc.rows.toLocaleString()}</Fact>
        )}
        {attrs.map(([key, value]) => (
          <Fact key={key} term={key}>
            {String(value)}
          </Fact>
        ))}
      </dl>
      {variables.length > 0 && (
        <ul className="jp-ddas-variables" data-testid="ddas-variables">
          {variables.map(v => (
            <li key={v.name}>
              <code>{v.name}</code>
              {v.units && ` (${v.units})`}
              {v.long_name && ` — ${v.long_name}`}
              {v.dims && v.dims.length > 0 && (
                <span className="jp-ddas-muted"> [{v.dims.join(', ')}]</span>
              )}
            </li>
          ))}
        </ul>
      )}
      {(doc.columns ?? []).length > 0 && (
        <p className="jp-ddas-muted">
          Columns: {(doc.columns ?? []).map(c => c.name).join(', ')}
        </p>
      )}
    </>
  );
}

function Annotations(props: {
  about: IDatasetAbout;
  model: SidebarModel;
  datasetId: number;
  onSaved: () => void;
}): React.ReactElement {
  const { about, model, datasetId, onSaved } = props;
  const [editing, setEditing] = useState(false);
  const current: IAnnotation | undefined = about.annotations[0];
  return (
    <>
      {about.annotations.length === 0 && !editing && (
        <p className="jp-ddas-muted">No tags or description yet.</p>
      )}
      {!editing &&
        about.annotations.map(a => <AnnotationView key={a.id} note={a} />)}
      {editing ? (
        <AnnotationForm
          initial={current}
          onCancel={() => setEditing(false)}
          onSave={async change => {
            await model.api.annotate(datasetId, change);
            setEditing(false);
            onSaved();
          }}
        />
      ) : (
        about.can_annotate && (
          <button
            type="button"
            className="jp-ddas-button"
            data-testid="ddas-annotate"
            onClick={() => setEditing(true)}
          >
            {current ? 'Edit tags and description' : 'Add tags and description'}
          </button>
        )
      )}
    </>
  );
}

function AnnotationView(props: { note: IAnnotation }): React.ReactElement {
  const { note } = props;
  return (
    <div className="jp-ddas-annotation" data-testid="ddas-annotation">
      {note.tags.length > 0 && (
        <div className="jp-ddas-tags">
          {note.tags.map(tag => (
            <span key={tag} className="jp-ddas-badge jp-ddas-tag">
              {tag}
            </span>
          ))}
        </div>
      )}
      {note.description && <p>{note.description}</p>}
      <dl className="jp-ddas-facts">
        {note.license && <Fact term="License">{note.license}</Fact>}
        {note.doi && (
          <Fact term="DOI">
            <a
              href={`https://doi.org/${encodeURI(note.doi)}`}
              target="_blank"
              rel="noopener noreferrer"
            >
              {note.doi}
            </a>
          </Fact>
        )}
      </dl>
      <p className="jp-ddas-muted">by {note.updated_by}</p>
    </div>
  );
}

function AnnotationForm(props: {
  initial: IAnnotation | undefined;
  onCancel: () => void;
  onSave: (change: IAnnotationChange) => Promise<void>;
}): React.ReactElement {
  const { initial, onCancel, onSave } = props;
  const [tags, setTags] = useState((initial?.tags ?? []).join(', '));
  const [description, setDescription] = useState(initial?.description ?? '');
  const [license, setLicense] = useState(initial?.license ?? '');
  const [doi, setDoi] = useState(initial?.doi ?? '');
  const saving = useSaving(() =>
    onSave({ tags: parseTags(tags), description, license, doi })
  );
  return (
    <form
      className="jp-ddas-annotation-form"
      data-testid="ddas-annotation-form"
      onSubmit={saving.submit}
    >
      <label>
        Tags (comma-separated)
        <input
          value={tags}
          data-testid="ddas-annotation-tags"
          onChange={e => setTags(e.target.value)}
        />
      </label>
      <label>
        Description
        <textarea
          value={description}
          data-testid="ddas-annotation-description"
          onChange={e => setDescription(e.target.value)}
        />
      </label>
      <label>
        License
        <input value={license} onChange={e => setLicense(e.target.value)} />
      </label>
      <label>
        DOI
        <input
          value={doi}
          placeholder="10.5281/zenodo.123"
          onChange={e => setDoi(e.target.value)}
        />
      </label>
      {saving.error && <ErrorState error={saving.error} />}
      <FormButtons busy={saving.busy} onCancel={onCancel} />
    </form>
  );
}

/** `a, b ,, c` -> `['a', 'b', 'c']`. */
function parseTags(text: string): string[] {
  return text
    .split(',')
    .map(t => t.trim())
    .filter(t => t);
}

/** A form's submit handler running `save`, with its busy flag and failure. */
function useSaving(save: () => Promise<void>): {
  busy: boolean;
  error: Error | null;
  submit: (event: React.FormEvent) => void;
} {
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await save();
    } catch (reason) {
      setError(asError(reason));
    } finally {
      setBusy(false);
    }
  };
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    void run();
  };
  return { busy, error, submit };
}

function FormButtons(props: {
  busy: boolean;
  onCancel: () => void;
}): React.ReactElement {
  return (
    <div className="jp-ddas-copy-actions">
      <button
        type="submit"
        className="jp-ddas-button jp-ddas-button-accent"
        data-testid="ddas-annotation-save"
        disabled={props.busy}
      >
        Save
      </button>
      <button type="button" className="jp-ddas-button" onClick={props.onCancel}>
        Cancel
      </button>
    </div>
  );
}

/** The collections the dataset belongs to, each a link to its members. */
function InCollections(props: {
  about: IDatasetAbout;
  model: SidebarModel;
}): React.ReactElement | null {
  const { about, model } = props;
  if (about.collections.length === 0) {
    return null;
  }
  return (
    <section className="jp-ddas-section" aria-label="Collections">
      <h3>In collections</h3>
      <ul className="jp-ddas-members">
        {about.collections.map(c => (
          <li key={c.id}>
            <button
              type="button"
              className="jp-ddas-button jp-ddas-link"
              onClick={() => model.showCollection(c.id)}
            >
              {collectionName(c.url)}
            </button>{' '}
            <span className="jp-ddas-muted">{plural(c.members, 'file')}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
