/**
 * The Savings tab (`GET stats`): what reuse has spared — downloads and
 * bytes — in total, per user and per day, plus what duplicates still waste.
 */
import * as React from 'react';

import { EmptyState, SafeText } from './components';
import { formatBytes, formatCount } from './format';
import { useAsync } from './hooks';
import { loaded } from './loaded';
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
  return (
    <>
      {loaded(state, reload, stats => (
        <Savings stats={stats} />
      ))}
    </>
  );
}

function Savings(props: { stats: IStats }): React.ReactElement {
  const { stats } = props;
  return (
    <div className="jp-ddas-savings">
      <SavingsCards stats={stats} />
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
        {stats.by_user.length === 0 ? (
          <p className="jp-ddas-muted">No activity recorded yet.</p>
        ) : (
          <UsersTable users={stats.by_user} />
        )}
      </section>
      {stats.by_type.length > 0 && (
        <section className="jp-ddas-section" aria-label="By file type">
          <h3>By file type</h3>
          <TypesTable types={stats.by_type} />
        </section>
      )}
    </div>
  );
}

function SavingsCards(props: { stats: IStats }): React.ReactElement {
  const { stats } = props;
  return (
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
  );
}

/** The header row of a table: the first column's name, then numbers. */
function TableHead(props: {
  first: string;
  numbers: string[];
}): React.ReactElement {
  return (
    <thead>
      <tr>
        <th scope="col">{props.first}</th>
        {props.numbers.map(name => (
          <th key={name} scope="col" className="jp-ddas-num">
            {name}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** Most bytes saved first (then most reuses). */
function UsersTable(props: { users: IStats['by_user'] }): React.ReactElement {
  const users = [...props.users].sort(
    (a, b) => b.bytes_saved - a.bytes_saved || b.reuses - a.reuses
  );
  return (
    <table className="jp-ddas-table" data-testid="ddas-savings-users">
      <TableHead first="User" numbers={['Reuses', 'Saved', 'Downloaded']} />
      <tbody>
        {users.map(user => (
          <tr key={user.user}>
            <th scope="row">
              <SafeText value={user.user} max={64} />
            </th>
            <td className="jp-ddas-num">{formatCount(user.reuses)}</td>
            <td className="jp-ddas-num">{formatBytes(user.bytes_saved)}</td>
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
  );
}

/** The ten largest file types. */
function TypesTable(props: { types: IStats['by_type'] }): React.ReactElement {
  const types = [...props.types].sort((a, b) => b.bytes - a.bytes);
  return (
    <table className="jp-ddas-table">
      <TableHead first="Type" numbers={['Datasets', 'Size', 'Saved']} />
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
