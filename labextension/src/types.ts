/**
 * Shapes of the DDAS REST API (`{baseUrl}/ddas/api/…`) under the names the
 * views use. Every one is an alias of a type generated from the server's
 * contract, `jupyter_server_ext/ddas_server/openapi.yaml`, into `openapi.ts`
 * (`jlpm build:api-types`; the test suite fails when that file is stale), so
 * a field the server adds, renames or drops is a compile error here, not a
 * surprise in a view. Field names keep the server's snake_case on purpose:
 * the objects are the parsed JSON, not a translation of it.
 */
import type { components, operations } from './openapi';

type Schemas = components['schemas'];

/** The JSON body of an operation's 200 answer. */
type Answer<K extends keyof operations> = operations[K] extends {
  responses: { 200: { content: { 'application/json': infer T } } };
}
  ? T
  : never;

/** One place where a content lives: a local path or an fsspec URL. */
export type ICopy = Schemas['Copy'];

/** Where a copy stands after the last verification. */
export type CopyState = ICopy['state'];

/** A normalized URL (secrets stripped) with the validators seen for it. */
export type ISource = Schemas['Source'];

/** Something that happened to a content, a source or a copy. */
export type IDdasEvent = Schemas['Event'];

export type EventKind = IDdasEvent['kind'];

/** One row of the dataset search: a content and how it is held. */
export type IDatasetSummary = Schemas['DatasetSummary'];

/** Everything known about one dataset (content). */
export type IDatasetDetail = Schemas['DatasetDetail'];

/** Query of `GET datasets`. */
export type IDatasetQuery = NonNullable<
  operations['listDatasets']['parameters']['query']
>;

/** Accepted `sort` values of `GET datasets`; a leading `-` is descending. */
export type DatasetSort = NonNullable<IDatasetQuery['sort']>;

/** One page of `GET datasets`. */
export type IDatasetPage = Schemas['DatasetPage'];

/** One page of `GET duplicates`, with the waste of all groups. */
export type IDuplicatesPage = Schemas['DuplicatePage'];

/** A content with two or more present copies and the bytes they waste. */
export type IDuplicateGroup = IDuplicatesPage['items'][number];

/** `GET stats`: every number once (`reuses` are the downloads saved). */
export type IStats = Schemas['Stats'];

export type IDayStats = Schemas['DayStats'];

export type IEventsPage = Schemas['EventPage'];

export type IWhoAmI = Answer<'whoami'>;
