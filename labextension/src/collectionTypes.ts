/**
 * Shapes of the REST routes for collections, scientific metadata,
 * annotations and "same data" groups, kept apart from `types.ts` because
 * they come from one feature. Aliases of the types generated from
 * `openapi.yaml` (see `types.ts`), except what the contract leaves open.
 */
import type { components } from './openapi';

type Schemas = components['schemas'];

/** A dataset of many files (a prefix, a listing, a glob) at one version. */
export type ICollectionSummary = Schemas['CollectionSummary'];

export type ICollectionDetail = Schemas['CollectionDetail'];

/** One file of a collection. */
export type IMember = ICollectionDetail['member_list'][number];

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

/**
 * The part of a metadata `doc` the sidebar reads. The contract leaves `doc`
 * an open object (its keys depend on the file's format), so this is what
 * the extractors in `ddas/metadata` write, not something the server checks.
 */
export interface IMetadataDoc {
  variables?: IVariable[];
  dims?: { [name: string]: number };
  attrs?: { [name: string]: unknown };
  time?: { start: string; end: string } | null;
  lat?: { min: number; max: number; step?: number } | null;
  lon?: { min: number; max: number; step?: number } | null;
  columns?: { name: string; type?: string }[];
  rows?: number;
  delimiter?: string;
}

/** What a file says about itself, as extracted after registration. */
export type IMetadata = Schemas['Metadata'] & { doc: IMetadataDoc };

/** What people wrote about a dataset (kept across versions of its URL). */
export type IAnnotation = Schemas['Annotation'];

/**
 * The body of `PATCH datasets/{id}/annotations`: some of an annotation's
 * editable fields. (The contract's `anyOf` — at least one of them — has no
 * TypeScript form the generator can write, so this is derived from
 * `Annotation` instead.)
 */
export type IAnnotationChange = Partial<
  Pick<IAnnotation, 'tags' | 'description' | 'license' | 'doi'>
>;

/** `GET datasets/{id}/metadata`. */
export type IDatasetAbout = Omit<Schemas['DatasetAbout'], 'metadata'> & {
  metadata: IMetadata | null;
};

/** One page of `GET collections`. */
export type ICollectionPage = Schemas['CollectionPage'];

/** One page of `GET duplicates/same-data`. */
export type ISameDataPage = Schemas['SameDataPage'];

/** Contents with different bytes but the same data. */
export type ISameDataGroup = ISameDataPage['items'][number];
