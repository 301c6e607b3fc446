/**
 * The left-sidebar panel (`#ddas-sidebar`): a header with refresh, four
 * tabs (Search, Collections, Duplicates, Savings) and dataset or collection
 * details opened over them.
 *
 * Tabs stay mounted once visited (hidden, not destroyed) so the search
 * text, loaded pages and scroll position survive a trip to the details.
 */
import { ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';
import { useRef } from 'react';

import { CollectionDetailsView, CollectionsView } from './collectionsView';
import { DetailsView } from './detailsView';
import { DuplicatesView } from './duplicatesView';
import { useSignal } from './hooks';
import { datasetsIcon } from './icon';
import { SidebarModel, ViewName } from './model';
import { SavingsView } from './savingsView';
import { SearchView } from './searchView';

/** Lumino id of the panel; browser tests and `activateById` use it. */
export const SIDEBAR_ID = 'ddas-sidebar';

const TABS: { name: ViewName; label: string }[] = [
  { name: 'search', label: 'Search' },
  { name: 'collections', label: 'Collections' },
  { name: 'duplicates', label: 'Duplicates' },
  { name: 'savings', label: 'Savings' }
];

export class DatasetsSidebar extends ReactWidget {
  constructor(readonly model: SidebarModel) {
    super();
    this.id = SIDEBAR_ID;
    this.title.icon = datasetsIcon;
    this.title.caption = 'Datasets';
    this.addClass('jp-ddas-sidebar');
  }

  protected render(): React.ReactElement {
    return <Sidebar model={this.model} />;
  }

  /** Opening the panel puts the caret in the search box. */
  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    if (this.model.datasetId === null && this.model.view === 'search') {
      const box = this.node.querySelector<HTMLInputElement>(
        '[data-testid="ddas-search-input"]'
      );
      if (box) {
        box.focus();
      } else {
        this.model.requestSearchFocus();
      }
    }
  }
}

function Sidebar(props: { model: SidebarModel }): React.ReactElement {
  const { model } = props;
  useSignal(model.changed);
  return (
    <div className="jp-ddas-panel">
      <SidebarHeader model={model} />
      {/* Always rendered: a live region announces what appears in it later. */}
      <div aria-live="polite" className="jp-ddas-news-region">
        {model.news && (
          <button
            type="button"
            className="jp-ddas-news"
            data-testid="ddas-news"
            onClick={() => model.refresh()}
          >
            Other users added or changed datasets. Refresh
          </button>
        )}
      </div>
      <SidebarTabs model={model} />
      <SidebarContent model={model} />
    </div>
  );
}

function SidebarHeader(props: { model: SidebarModel }): React.ReactElement {
  const { model } = props;
  return (
    <header className="jp-ddas-header">
      <h1 className="jp-ddas-heading">Datasets</h1>
      <button
        type="button"
        className={`jp-ddas-icon-button${model.news ? ' jp-ddas-mod-news' : ''}`}
        data-testid="ddas-refresh"
        title={
          model.news ? 'Refresh: other users changed the registry' : 'Refresh'
        }
        aria-label={model.news ? 'Refresh (new activity)' : 'Refresh'}
        onClick={() => model.refresh()}
      >
        <refreshIcon.react tag="span" />
      </button>
    </header>
  );
}

/** ArrowLeft / ArrowRight move between the tabs (and focus the new one). */
function onTabKey(
  event: React.KeyboardEvent<HTMLDivElement>,
  model: SidebarModel
): void {
  const index = TABS.findIndex(tab => tab.name === model.view);
  const step =
    event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
  if (step !== 0) {
    event.preventDefault();
    const next = TABS[(index + step + TABS.length) % TABS.length];
    model.showView(next.name);
    event.currentTarget
      .querySelector<HTMLElement>(`[data-tab="${next.name}"]`)
      ?.focus();
  }
}

function SidebarTabs(props: { model: SidebarModel }): React.ReactElement {
  const { model } = props;
  return (
    <div
      className="jp-ddas-tabs"
      role="tablist"
      aria-label="DDAS views"
      onKeyDown={event => onTabKey(event, model)}
    >
      {TABS.map(tab => {
        const selected = model.view === tab.name;
        return (
          <button
            key={tab.name}
            type="button"
            role="tab"
            id={`ddas-tab-${tab.name}`}
            data-tab={tab.name}
            data-testid={`ddas-tab-${tab.name}`}
            aria-selected={selected}
            aria-controls={`ddas-view-${tab.name}`}
            tabIndex={selected ? 0 : -1}
            className={`jp-ddas-tab${selected ? ' jp-mod-selected' : ''}`}
            onClick={() => model.showView(tab.name)}
          >
            {tab.label}
          </button>
        );
      })}
    </div>
  );
}

/**
 * The tabs visited so far (kept mounted, so a tab keeps its scroll and
 * loaded pages), and the details of a dataset or collection over them.
 */
function SidebarContent(props: { model: SidebarModel }): React.ReactElement {
  const { model } = props;
  const visited = useRef(new Set<ViewName>());
  visited.current.add(model.view);
  const detailsOpen = model.datasetId !== null || model.collectionId !== null;
  return (
    <div className="jp-ddas-content">
      {TABS.filter(tab => visited.current.has(tab.name)).map(tab => (
        <div
          key={tab.name}
          id={`ddas-view-${tab.name}`}
          role="tabpanel"
          aria-labelledby={`ddas-tab-${tab.name}`}
          className="jp-ddas-view"
          hidden={detailsOpen || model.view !== tab.name}
        >
          {tab.name === 'search' && <SearchView model={model} />}
          {tab.name === 'collections' && <CollectionsView model={model} />}
          {tab.name === 'duplicates' && <DuplicatesView model={model} />}
          {tab.name === 'savings' && <SavingsView model={model} />}
        </div>
      ))}
      {model.datasetId !== null && (
        <div className="jp-ddas-view">
          <DetailsView
            key={model.datasetId}
            model={model}
            datasetId={model.datasetId}
          />
        </div>
      )}
      {model.datasetId === null && model.collectionId !== null && (
        <div className="jp-ddas-view">
          <CollectionDetailsView
            key={model.collectionId}
            model={model}
            collectionId={model.collectionId}
          />
        </div>
      )}
    </div>
  );
}
