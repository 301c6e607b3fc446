/**
 * "Same data, different files" (`GET duplicates/same-data`): contents whose
 * bytes differ but whose metadata says they hold the same data (a
 * re-compressed or re-chunked copy). A section of its own under the exact
 * duplicates, never mixed with them: deleting one of these is a judgement
 * call, not a reclaim.
 */
import * as React from 'react';

import { ISameDataGroup } from './collectionTypes';
import { formatBytes, plural } from './format';
import { useAsync } from './hooks';
import { loaded } from './loaded';
import { SidebarModel } from './model';

export function SameDataSection(props: {
  model: SidebarModel;
}): React.ReactElement {
  const { model } = props;
  const [state, reload] = useAsync(
    signal => model.api.sameData(0, 50, signal),
    [model.api, model.generation]
  );
  const body = loaded(state, reload, page =>
    page.items.length === 0 ? (
      <p className="jp-ddas-muted">
        No two files hold the same data in different bytes.
      </p>
    ) : (
      <ul className="jp-ddas-groups">
        {page.items.map(group => (
          <SameDataGroup key={group.signature} group={group} model={model} />
        ))}
      </ul>
    )
  );
  return (
    <section
      className="jp-ddas-section jp-ddas-same-data"
      aria-label="Same data, different files"
      data-testid="ddas-same-data"
    >
      <h3>Same data, different files</h3>
      <p className="jp-ddas-muted">
        Different bytes, same variables, dimensions, coverage and source: not
        counted as duplicates.
      </p>
      {body}
    </section>
  );
}

function SameDataGroup(props: {
  group: ISameDataGroup;
  model: SidebarModel;
}): React.ReactElement {
  const { group, model } = props;
  return (
    <li className="jp-ddas-group" data-testid="ddas-same-data-group">
      <div className="jp-ddas-row-meta">
        <span className="jp-ddas-badge jp-ddas-tag">{group.label}</span>{' '}
        {group.summary} · {plural(group.contents.length, 'file')} ·{' '}
        {formatBytes(group.bytes)}
      </div>
      <ul className="jp-ddas-group-copies">
        {group.contents.map(c => (
          <li key={c.id}>
            <button
              type="button"
              className="jp-ddas-button jp-ddas-link"
              onClick={() => model.showDataset(c.id)}
            >
              {c.name}
            </button>{' '}
            <span className="jp-ddas-muted">
              {formatBytes(c.size)} · {c.owners.join(', ')}
            </span>
          </li>
        ))}
      </ul>
    </li>
  );
}
