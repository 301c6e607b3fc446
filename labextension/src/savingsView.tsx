/**
 * The Savings tab (`GET stats`): what reuse has spared — downloads and
 * bytes — in total, per user and per day, plus what duplicates still waste.
 */
import * as React from 'react';

import { EmptyState, ErrorState, LoadingState, SafeText } from './components';
import { formatBytes, formatCount } from './format';
import { useAsync } from './hooks';
import { SidebarModel } from './model';
import { SavingsChart } from './savingsChart';
import { IStats } from './types';

export function SavingsView(props: {
  model: SidebarModel;
}): React.ReactElement {
  const { model } = props;
  const [state, reload] = useAsync(
    signal => model.api.stats(signal),
    [model.api, model.generation]
  );
  if (state.error && !state.data) {
    return <ErrorState error={state.error} onRetry={reload} />;
  }
  if (!state.data) {
    return <LoadingState />;
  }
  return <Savings stats={state.data} />;
}

function Savings(props: { stats: IStats }): React.ReactElement {
  const { stats } = props;
  const users = [...stats.by_user].sort(
    (a, b) => b.bytes_saved - a.bytes_saved || b.reuses - a.reuses
  );
  const types = [...stats.by_type].sort((a, b) => b.bytes - a.bytes);
  return (
    <div className="jp-ddas-savings">
      <div className="jp-ddas-cards">
        <Card
          label="Bytes saved"
          value={formatBytes(stats.bytes_saved)}
          testId="ddas-bytes-saved"
        />
        <Card
          label="Downloads saved"
          value={formatCount(stats.reuses)}
          hint="Reuses of a shared copy: each one a download avoided"
          testId="ddas-downloads-saved"
        />
        <Card label="Downloads" value={formatCount(stats.downloads)} />
        <Card
          label="Stored"
          value={formatBytes(stats.present_bytes)}
          hint={`${formatCount(stats.contents)} datasets in ${formatCount(stats.copy_count)} copies`}
        />
        <Card
          label="Still wasted"
          value={formatBytes(stats.wasted_bytes)}
          hint="by duplicate copies"
        />
      </div>

      <section className="jp-ddas-section" aria-label="Saved over time">
        <h3>Saved per day</h3>
        {stats.over_time.length === 0 ? (
          <EmptyState>
            Nothing saved yet: reuses of shared datasets will show up here.
          </EmptyState>
        ) : (
          <SavingsChart days={stats.over_time} />
        )}
      </section>

      <section className="jp-ddas-section" aria-label="By user">
        <h3>By user</h3>
        {users.length === 0 ? (
          <p className="jp-ddas-muted">No activity recorded yet.</p>
        ) : (
          <table className="jp-ddas-table" data-testid="ddas-savings-users">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col" className="jp-ddas-num">
                  Reuses
                </th>
                <th scope="col" className="jp-ddas-num">
                  Saved
                </th>
                <th scope="col" className="jp-ddas-num">
                  Downloaded
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map(user => (
                <tr key={user.user}>
                  <th scope="row">
                    <SafeText value={user.user} max={64} />
                  </th>
                  <td className="jp-ddas-num">{formatCount(user.reuses)}</td>
                  <td className="jp-ddas-num">
                    {formatBytes(user.bytes_saved)}
                  </td>
                  <td
                    className="jp-ddas-num"
                    title={`${formatCount(user.downloads)} downloads`}
                  >
                    {formatBytes(user.bytes_downloaded)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {types.length > 0 && (
        <section className="jp-ddas-section" aria-label="By file type">
          <h3>By file type</h3>
          <table className="jp-ddas-table">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col" className="jp-ddas-num">
                  Datasets
                </th>
                <th scope="col" className="jp-ddas-num">
                  Size
                </th>
                <th scope="col" className="jp-ddas-num">
                  Saved
                </th>
              </tr>
            </thead>
            <tbody>
              {types.slice(0, 10).map(type => (
                <tr key={type.ext}>
                  <th scope="row">{type.ext || '(none)'}</th>
                  <td className="jp-ddas-num">{formatCount(type.contents)}</td>
                  <td className="jp-ddas-num">{formatBytes(type.bytes)}</td>
                  <td
                    className="jp-ddas-num"
                    title={`${formatCount(type.reuses)} reuses`}
                  >
                    {formatBytes(type.bytes_saved)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}

function Card(props: {
  label: string;
  value: string;
  hint?: string;
  testId?: string;
}): React.ReactElement {
  return (
    <div className="jp-ddas-card" data-testid={props.testId} title={props.hint}>
      <div className="jp-ddas-card-value">{props.value}</div>
      <div className="jp-ddas-card-label">{props.label}</div>
    </div>
  );
}
