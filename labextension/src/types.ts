/**
 * Shapes of the DDAS REST API (`{baseUrl}/ddas/api/…`), written down once so
 * every view and the notifier agree with the server contract
 * (shared_notes/REST_CONTRACT.md). Field names keep the server's snake_case on
 * purpose: the objects are the parsed JSON, not a translation of it.
 */

/** ISO-8601 UTC timestamp such as `2026-11-22T10:00:00Z`. */
export type Timestamp = string;

/** Where a copy stands after the last verification. */
export type CopyState = 'present' | 'missing' | 'corrupt' | 'unhashed';

/** One place where a content lives: a local path or an fsspec URL. */
export interface ICopy {
  id: number;
  content_id: number | null;
  host: string;
  location: string;
  owner: string;
  state: CopyState;
  created: Timestamp;
  verified_at: Timestamp | null;
  size: number;
  in_store: boolean;
}

/** A normalized URL (secrets stripped) with the validators seen for it. */
export interface ISource {
  id: number;
  url: string;
  etag: string | null;
  last_modified: string | null;
  size: number | null;
  first_seen: Timestamp;
  last_seen: Timestamp;
  content_id: number | null;
}

export type EventKind =
  'download' | 'reuse' | 'alert' | 'scan' | 'verify' | 'forget';

/** A JSON value as found in the free-form `detail` of an event. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Something that happened to a content, a source or a copy. */
export interface IDdasEvent {
  id: number;
  kind: EventKind;
  user: string;
  at: Timestamp;
  content_id: number | null;
  source_id: number | null;
  copy_id: number | null;
  bytes: number;
  seconds: number;
  name: string | null;
  detail: { [key: string]: JsonValue };
}

/** One row of the dataset search: a content and how it is held. */
export interface IDatasetSummary {
  id: number;
  blake3: string;
  size: number;
  name: string;
  /** Number of *present* copies. */
  copy_count: number;
  owners: string[];
  last_used: Timestamp | null;
  urls: string[];
}

/** Everything known about one dataset (content). */
export interface IDatasetDetail extends IDatasetSummary {
  digests: { [algorithm: string]: string };
  copy_list: ICopy[];
  sources: ISource[];
  events: IDdasEvent[];
}

/** Accepted `sort` values of `GET datasets`; a leading `-` is descending. */
export type DatasetSort =
  | 'name'
  | '-name'
  | 'size'
  | '-size'
  | 'copies'
  | '-copies'
  | 'last_used'
  | '-last_used';

/** Query of `GET datasets`. */
export interface IDatasetQuery {
  q?: string;
  owner?: string;
  sort?: DatasetSort;
  offset?: number;
  /** At most 500 (server limit). */
  limit?: number;
}

/** An offset/limit page of results. */
export interface IPage<T> {
  total: number;
  offset: number;
  limit: number;
  items: T[];
  /** False when `total` is an estimate (a search matching a large share). */
  total_exact?: boolean;
}

export type LookupStatus =
  'hit' | 'miss' | 'in_progress' | 'new_version' | 'local';

/** Who holds the download lease of a source, and how far they got. */
export interface ILease {
  user: string;
  progress_bytes: number;
  total_bytes: number | null;
}

export interface ILookupResult {
  url: string;
  status: LookupStatus;
  copies: ICopy[];
  lease: ILease | null;
}

/** A content with two or more present copies and the bytes they waste. */
export interface IDuplicateGroup extends IDatasetSummary {
  wasted_bytes: number;
  copy_list: ICopy[];
}

export interface IDuplicatesPage {
  /** Duplicate groups in all, not only this page's. */
  total: number;
  offset: number;
  limit: number;
  /** What all groups waste: size × (places − 1). */
  wasted_bytes: number;
  items: IDuplicateGroup[];
}

export interface IUserStats {
  user: string;
  reuses: number;
  bytes_saved: number;
  downloads: number;
  bytes_downloaded: number;
}

export interface ITypeStats {
  /** `.nc`, `.tar.gz`, or `(none)`. */
  ext: string;
  contents: number;
  bytes: number;
  reuses: number;
  bytes_saved: number;
}

export interface IDayStats {
  /** `YYYY-MM-DD` */
  day: string;
  reuses: number;
  bytes_saved: number;
}

/** `GET stats`: every number once (`reuses` are the downloads saved). */
export interface IStats {
  contents: number;
  /** Present copies of those contents. */
  copy_count: number;
  present_bytes: number;
  wasted_bytes: number;
  duplicate_groups: number;
  downloads: number;
  /** Reuses of a shared copy: downloads avoided. */
  reuses: number;
  bytes_saved: number;
  by_user: IUserStats[];
  by_type: ITypeStats[];
  over_time: IDayStats[];
}

export interface IEventsPage {
  items: IDdasEvent[];
  /** Where this page ends: the next request's `since`. */
  last_id: number;
  /** The newest event id of anyone, read before the page. */
  newest_id?: number;
}

export interface IScan {
  id: string;
  state: 'running' | 'done' | 'failed';
  progress: { files: number; bytes: number };
  summary: { [key: string]: JsonValue } | null;
}

export interface IWhoAmI {
  user: string;
  admin: boolean;
}
