/**
 * Live toasts for the user's own reuses and alerts.
 *
 * Polls `GET events?since=<last id>&user=<me>` every ~5 s. The poll runs even
 * when the Datasets panel is collapsed (the toast is the point: "this was
 * already there, you just saved 4 GB") but stands by while the browser tab
 * is hidden, so idle tabs cost the server nothing. It starts from the latest
 * event id, so opening Lab never replays old news.
 *
 * While the Datasets panel is open, each tick also asks whether anyone else
 * registered, reused, scanned or forgot something (one small request with
 * `kind=` and `limit=`), so that the panel can offer a refresh.
 */
import { Notification } from '@jupyterlab/apputils';
import { CommandRegistry } from '@lumino/commands';
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';

import { DdasApi, DdasApiError } from './api';
import { isStale, IToastContext, nextSince, toastMessage } from './events';
import { formatBytes } from './format';
import { EventKind, ICopy, IDdasEvent, IWhoAmI } from './types';

/** More toasts than this in one poll are summarised into one. */
const MAX_TOASTS_PER_POLL = 3;
/** Events per request while polling (one poll rarely sees more than a few). */
const PAGE = 200;
/** Kinds of event that change what the sidebar lists (not lookups, alerts). */
const LIST_KINDS: readonly EventKind[] = [
  'download',
  'reuse',
  'scan',
  'verify',
  'forget'
];
/** Others' events per request: enough to find one that is not ours. */
const OTHERS_PAGE = 50;

export interface IEventNotifierOptions {
  api: DdasApi;
  commands: CommandRegistry;
  /** Resolves to the current user (shared with the sidebar). */
  whoami: () => Promise<IWhoAmI>;
  /** Command that shows a dataset: called with `{ id }`. */
  showCommand: string;
  /** Poll interval in ms (default 5000). */
  interval?: number;
  /**
   * Called with this user's new events of any kind (a download, a reuse, a
   * scan), so that what the sidebar lists follows what the kernels did.
   */
  onActivity?: (events: IDdasEvent[]) => void;
  /**
   * Called when other users changed what the sidebar lists. Only asked
   * while `watchOthers()` is true (e.g. the panel is visible).
   */
  onOthersActivity?: (events: IDdasEvent[]) => void;
  watchOthers?: () => boolean;
}

export class EventNotifier implements IDisposable {
  constructor(options: IEventNotifierOptions) {
    this._options = options;
    this._poll = new Poll({
      name: 'ddas:events',
      factory: () => this._tick(),
      frequency: {
        interval: options.interval ?? 5000,
        backoff: true,
        max: 5 * 60 * 1000
      },
      standby: 'when-hidden'
    });
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  dispose(): void {
    this._poll.dispose();
  }

  /** Check now (e.g. after a refresh) instead of waiting for the next tick. */
  refresh(): Promise<void> {
    return this._poll.refresh();
  }

  private async _tick(): Promise<void> {
    try {
      if (this._user === null) {
        this._user = (await this._options.whoami()).user;
      }
      if (this._since === null || this._othersSince === null) {
        this._since = this._othersSince = await this._latestId(this._user);
        return;
      }
      await this._poll_once(this._user, this._since);
      await this._pollOthers(this._user, this._othersSince);
    } catch (error) {
      if (
        error instanceof DdasApiError &&
        [401, 403, 404].includes(error.status)
      ) {
        // No DDAS on this server (or not for this user): stop for good
        // rather than back off forever.
        console.warn(`DDAS notifications disabled: ${error.message}`);
        window.setTimeout(() => this.dispose(), 0);
        return;
      }
      throw error; // the poll backs off and retries
    }
  }

  /**
   * The id to start from, for this user's events and for everyone's: the
   * server's newest event id, so that history is skipped without a toast.
   */
  private async _latestId(user: string): Promise<number> {
    const page = await this._options.api.events({ since: 0, user, limit: 1 });
    return page.newest_id;
  }

  /** Did anyone else change what the sidebar lists since `since`? */
  private async _pollOthers(user: string, since: number): Promise<void> {
    const { onOthersActivity, watchOthers } = this._options;
    if (!onOthersActivity || !(watchOthers?.() ?? true)) {
      return; // nobody looks: the next visible tick picks up from `since`
    }
    const page = await this._options.api.events({
      since,
      kinds: LIST_KINDS,
      limit: OTHERS_PAGE
    });
    this._othersSince = nextSince(page, since, OTHERS_PAGE);
    const theirs = page.items.filter(
      event => event.id > since && event.user !== user
    );
    if (theirs.length > 0) {
      onOthersActivity(theirs);
    }
  }

  private async _poll_once(user: string, since: number): Promise<void> {
    const page = await this._options.api.events({ since, user, limit: PAGE });
    this._since = nextSince(page, since, PAGE);
    const fresh = page.items.filter(event => event.id > since);
    if (fresh.length > 0 && this._options.onActivity) {
      this._options.onActivity(fresh);
    }
    const news = fresh.filter(
      event =>
        event.user === user &&
        (event.kind === 'reuse' || event.kind === 'alert') &&
        !isStale(event, this._startedAt)
    );
    for (const event of news.slice(0, MAX_TOASTS_PER_POLL)) {
      await this._toast(event);
    }
    const rest = news.length - MAX_TOASTS_PER_POLL;
    if (rest > 0) {
      const saved = news
        .slice(MAX_TOASTS_PER_POLL)
        .filter(event => event.kind === 'reuse')
        .reduce((sum, event) => sum + event.bytes, 0);
      Notification.info(
        `…and ${rest} more dataset${rest === 1 ? '' : 's'} already existed${saved > 0 ? ` (${formatBytes(saved)} saved)` : ''}.`,
        { autoClose: 8000 }
      );
    }
  }

  private async _toast(event: IDdasEvent): Promise<void> {
    const context = await this._context(event);
    const message = toastMessage(event, context);
    const actions: Notification.IAction[] = [];
    if (event.content_id !== null) {
      const id = event.content_id;
      actions.push({
        label: 'Show dataset',
        caption: 'Open this dataset in the Datasets sidebar',
        displayType: 'accent',
        callback: () => {
          void this._options.commands.execute(this._options.showCommand, {
            id
          });
        }
      });
    }
    if (event.kind === 'alert') {
      Notification.warning(message, { autoClose: 15000, actions });
    } else {
      Notification.info(message, { autoClose: 10000, actions });
    }
  }

  /**
   * Where the existing copy is, whose it is and since when: a reuse's
   * detail names the location and owner; the rest comes from the dataset.
   */
  private async _context(event: IDdasEvent): Promise<IToastContext> {
    const context: IToastContext = {
      name: event.name,
      location: text(event.detail.location),
      owner: text(event.detail.owner)
    };
    if (event.content_id === null) {
      return context;
    }
    try {
      const dataset = await this._options.api.getDataset(event.content_id);
      const copy: ICopy | undefined =
        dataset.copy_list.find(c => c.id === event.copy_id) ??
        dataset.copy_list.find(c => c.state === 'present');
      context.name = context.name ?? dataset.name;
      if (copy) {
        context.location = context.location ?? copy.location;
        context.owner = context.owner ?? copy.owner;
        context.since = copy.created;
      }
    } catch {
      // The toast still says what happened without the details.
    }
    return context;
  }

  private _startedAt = Date.now();
  private _options: IEventNotifierOptions;
  private _poll: Poll;
  private _since: number | null = null;
  private _othersSince: number | null = null;
  private _user: string | null = null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value ? value : null;
}
