/**
 * The pure rules of the event feed the notifier polls: where the next poll
 * starts, which events are too old to toast, and what a toast says. Kept
 * apart from `notifications.ts` (which talks to Lab and the server) so that
 * they are tested on their own.
 */
import { formatBytes, formatRelativeTime, isolatedText } from './format';
import { IDdasEvent, IEventsPage } from './types';

/** Lab truncates toast messages past this length; we shorten paths instead. */
const MAX_MESSAGE = 140;
/**
 * Events older than this when the page loaded are never toasted: old news
 * is noise. Generous, for clock skew.
 */
const STALE_MS = 10 * 60 * 1000;

/**
 * Where the next poll starts: past this page, and past `newest_id` when the
 * page was not full (nothing matching lies in between), so a filtered poll
 * does not re-read the same stretch of others' events forever.
 */
export function nextSince(
  page: IEventsPage,
  since: number,
  limit: number
): number {
  const seen = Math.max(since, page.last_id, ...page.items.map(e => e.id));
  return page.items.length < limit ? Math.max(seen, page.newest_id) : seen;
}

/** Happened well before this page was loaded (see STALE_MS). */
export function isStale(event: IDdasEvent, startedAt: number): boolean {
  const at = Date.parse(event.at);
  return !Number.isNaN(at) && at < startedAt - STALE_MS;
}

/** What a toast tells about the existing copy. */
export interface IToastContext {
  name?: string | null;
  location?: string | null;
  owner?: string | null;
  since?: string | null;
}

/**
 * "ERA5 2020 already exists: /shared/…/era5.nc (alice, 2 days ago) —
 * reused, 4.2 GB saved", kept under Lab's 140-character toast limit by
 * shortening the middle of the path.
 */
export function toastMessage(
  event: IDdasEvent,
  context: IToastContext,
  now: Date = new Date()
): string {
  const name = context.name ? isolatedText(context.name, 60) : 'This dataset';
  const who: string[] = [];
  if (context.owner) {
    who.push(isolatedText(context.owner, 40));
  }
  if (context.since) {
    who.push(formatRelativeTime(context.since, now));
  }
  const whoText = who.length ? ` (${who.join(', ')})` : '';
  const outcome =
    event.kind === 'reuse'
      ? event.bytes > 0
        ? ` — reused, ${formatBytes(event.bytes)} saved`
        : ' — reused'
      : ' — no need to download it again';
  const build = (location: string) =>
    `${name} already exists${location ? `: ${location}` : ''}${whoText}${outcome}`;
  const location = context.location ?? '';
  const budget = MAX_MESSAGE - build('').length - 4; // 2: ": ", 2: isolates
  return build(location ? isolatedText(location, Math.max(16, budget)) : '');
}
