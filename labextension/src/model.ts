/**
 * State of the Datasets sidebar that outlives a React render: which view is
 * shown, which dataset is open, who the user is, a refresh counter, and
 * whether other users changed the registry since.
 *
 * Commands (`ddas:show-dataset`, `ddas:refresh`) and toasts change this model;
 * the React views only read it and re-render on `changed`. Keeping it outside
 * React is what lets a command open a dataset while the panel is collapsed.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { DdasApi } from './api';
import { IDatasetActions } from './actions';
import { IWhoAmI } from './types';

/** The tabs of the sidebar; dataset details open over any of them. */
export type ViewName = 'search' | 'collections' | 'duplicates' | 'savings';

export class SidebarModel {
  constructor(
    readonly api: DdasApi,
    readonly actions: IDatasetActions
  ) {}

  /** Emitted on any change; views re-render from the getters. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get view(): ViewName {
    return this._view;
  }

  /** The dataset whose details are open, if any. */
  get datasetId(): number | null {
    return this._datasetId;
  }

  /**
   * Incremented by `refresh()`; views list it in their effect dependencies so
   * a refresh reloads what is on screen without losing the search text.
   */
  get generation(): number {
    return this._generation;
  }

  /** The current user, once `GET whoami` answered. */
  get whoami(): IWhoAmI | null {
    return this._whoami;
  }

  set whoami(value: IWhoAmI | null) {
    this._whoami = value;
    this._changed.emit();
  }

  /** The collection whose members are open, if any (under any dataset). */
  get collectionId(): number | null {
    return this._collectionId;
  }

  /** Switch tab, closing any open details. */
  showView(view: ViewName): void {
    this._view = view;
    this._datasetId = null;
    this._collectionId = null;
    this._changed.emit();
  }

  /** Open the members of one collection. */
  showCollection(id: number): void {
    this._collectionId = id;
    this._datasetId = null;
    this._changed.emit();
  }

  /** Back from a collection's members to the tab underneath. */
  closeCollection(): void {
    this._collectionId = null;
    this._changed.emit();
  }

  /** Open the details of one dataset (content id). */
  showDataset(id: number): void {
    this._datasetId = id;
    this._changed.emit();
  }

  /** Back from details to the tab underneath. */
  closeDataset(): void {
    this._datasetId = null;
    this._changed.emit();
  }

  /**
   * Other users changed the registry since the last reload. The sidebar
   * offers a refresh rather than reloading under the reader's eyes: a busy
   * lab registers something every few seconds, and a reload drops the
   * loaded pages and the scroll position.
   */
  get news(): boolean {
    return this._news;
  }

  /** Say that others changed the registry (shown until the next refresh). */
  markNews(): void {
    if (!this._news) {
      this._news = true;
      this._changed.emit();
    }
  }

  /** Reload whatever is visible (and what becomes visible later). */
  refresh(): void {
    this._generation += 1;
    this._news = false;
    this._changed.emit();
  }

  /**
   * Asks the search box to take the caret when it mounts: the panel can be
   * activated before React has rendered the box (the first render is async).
   */
  requestSearchFocus(): void {
    this._searchFocus = true;
  }

  /** True once after `requestSearchFocus()`: the box that mounts takes it. */
  takeSearchFocus(): boolean {
    const wanted = this._searchFocus;
    this._searchFocus = false;
    return wanted;
  }

  private _searchFocus = false;
  private _view: ViewName = 'search';
  private _datasetId: number | null = null;
  private _collectionId: number | null = null;
  private _generation = 0;
  private _news = false;
  private _whoami: IWhoAmI | null = null;
  private _changed = new Signal<this, void>(this);
}
