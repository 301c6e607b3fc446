/**
 * Shapes of the REST routes for collections, scientific metadata,
 * annotations and "same data" groups (see `openapi.yaml`), kept apart from
 * `types.ts` because they come from one feature.
 */
import { Timestamp } from './types';

/** A dataset of many files (a prefix, a listing, a glob) at one version. */
export interface ICollectionSummary {
  id: number;
  url: string;
  digest: string;
  members: number;
  size: number;
  owners: string[];
  created: Timestamp;
  last_used: Timestamp | null;
  versions: number;
}

export interface IMember {
  path: string;
  content_id: number;
  blake3: string;
  size: number;
  /** Present copies of the member's content (REST `copy_count`). */
  copy_count: number;
  owners: string[];
}

export interface ICollectionDetail extends ICollectionSummary {
  member_list: IMember[];
  version_list: ICollectionSummary[];
}

/** One variable (or array, or dataset) a file declares. */
export interface IVariable {
  name: string;
  dims?: string[];
  shape?: number[];
  dtype?: string;
  units?: string;
  long_name?: string;
  standard_name?: string;
  coord?: boolean;
}

/** What a file says about itself, as extracted after registration. */
export interface IMetadata {
  content_id: number;
  format: string;
  summary: string;
  signature: string | null;
  extracted: Timestamp;
  seconds: number;
  doc: {
    variables?: IVariable[];
    dims?: { [name: string]: number };
    attrs?: { [name: string]: unknown };
    time?: { start: string; end: string } | null;
    lat?: { min: number; max: number; step?: number } | null;
    lon?: { min: number; max: number; step?: number } | null;
    columns?: { name: string; type?: string }[];
    rows?: number;
    delimiter?: string;
  };
}

/** What people wrote about a dataset (kept across versions of its URL). */
export interface IAnnotation {
  id: number;
  url: string | null;
  content_id: number | null;
  tags: string[];
  description: string;
  license: string;
  doi: string;
  updated_by: string;
  updated: Timestamp;
}

export interface IAnnotationChange {
  tags?: string[];
  description?: string;
  license?: string;
  doi?: string;
}

/** `GET datasets/{id}/metadata`. */
export interface IDatasetAbout {
  metadata: IMetadata | null;
  annotations: IAnnotation[];
  collections: ICollectionSummary[];
  can_annotate: boolean;
}

/** Contents with different bytes but the same data. */
export interface ISameDataGroup {
  signature: string;
  summary: string;
  format: string;
  bytes: number;
  label: string;
  contents: {
    id: number;
    name: string;
    blake3: string;
    size: number;
    owners: string[];
  }[];
}
