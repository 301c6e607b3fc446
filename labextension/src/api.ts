/**
 * Typed client of the DDAS REST API.
 *
 * Every request goes through `ServerConnection.makeRequest`, which adds the
 * Jupyter token and the XSRF header and honours the base URL, so the sidebar
 * works behind JupyterHub and proxies exactly like Lab's own requests do.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  EventKind,
  IDatasetDetail,
  IDatasetPage,
  IDatasetQuery,
  IDuplicatesPage,
  IEventsPage,
  IStats,
  IWhoAmI
} from './types';
import {
  IAnnotation,
  IAnnotationChange,
  ICollectionDetail,
  ICollectionPage,
  IDatasetAbout,
  ISameDataPage
} from './collectionTypes';

/** Path of the DDAS API below the server's base URL. */
export const API_PATH = 'ddas/api';

/**
 * A failed API call, carrying the HTTP status (0 for network failures) and
 * the server's `{"message": …}` so views can show what to do next.
 */
export class DdasApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'DdasApiError';
  }
}

type QueryValue = string | number | boolean | null | undefined;

/** Build `?a=1&b=x` from the defined values only, URL-encoded. */
export function queryString(query: { [key: string]: QueryValue }): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    parts.push(
      `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`
    );
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export interface IRequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  query?: { [key: string]: QueryValue };
  body?: unknown;
  /** Lets a view drop a request whose answer it no longer needs. */
  signal?: AbortSignal;
}

export class DdasApi {
  constructor(serverSettings?: ServerConnection.ISettings) {
    this.serverSettings = serverSettings ?? ServerConnection.makeSettings();
  }

  readonly serverSettings: ServerConnection.ISettings;

  /** `GET datasets` — search by name, URL or digest. */
  listDatasets(
    query: IDatasetQuery,
    signal?: AbortSignal
  ): Promise<IDatasetPage> {
    return this.request<IDatasetPage>(['datasets'], {
      query: { ...query },
      signal
    });
  }

  /** `GET datasets/{id}` — copies, sources and events of one dataset. */
  getDataset(id: number, signal?: AbortSignal): Promise<IDatasetDetail> {
    return this.request<IDatasetDetail>(['datasets', String(id)], { signal });
  }

  /** `GET duplicates` — contents held more than once, largest waste first. */
  duplicates(
    offset = 0,
    limit = 50,
    signal?: AbortSignal
  ): Promise<IDuplicatesPage> {
    return this.request<IDuplicatesPage>(['duplicates'], {
      query: { offset, limit },
      signal
    });
  }

  /** `GET collections` — datasets of many files, newest version of each URL. */
  listCollections(
    offset = 0,
    limit = 50,
    signal?: AbortSignal
  ): Promise<ICollectionPage> {
    return this.request<ICollectionPage>(['collections'], {
      query: { offset, limit },
      signal
    });
  }

  /** `GET collections/{id}` — members and versions of one collection. */
  getCollection(id: number, signal?: AbortSignal): Promise<ICollectionDetail> {
    return this.request<ICollectionDetail>(['collections', String(id)], {
      signal
    });
  }

  /** `GET datasets/{id}/metadata` — extracted metadata and annotations. */
  getAbout(id: number, signal?: AbortSignal): Promise<IDatasetAbout> {
    return this.request<IDatasetAbout>(['datasets', String(id), 'metadata'], {
      signal
    });
  }

  /** `PATCH datasets/{id}/annotations` — owners and admins only (403). */
  annotate(id: number, change: IAnnotationChange): Promise<IAnnotation> {
    return this.request<IAnnotation>(['datasets', String(id), 'annotations'], {
      method: 'PATCH',
      body: change
    });
  }

  /** `GET duplicates/same-data` — different bytes, same data. */
  sameData(
    offset = 0,
    limit = 50,
    signal?: AbortSignal
  ): Promise<ISameDataPage> {
    return this.request<ISameDataPage>(['duplicates', 'same-data'], {
      query: { offset, limit },
      signal
    });
  }

  /** `GET stats` — what reuse has saved, per user and over time. */
  stats(signal?: AbortSignal): Promise<IStats> {
    return this.request<IStats>(['stats'], { signal });
  }

  /** `GET events?since=` — events newer than `since`, oldest first. */
  events(options: {
    since: number;
    user?: string;
    /** Only these kinds (`kind=download,scan`). */
    kinds?: readonly EventKind[];
    limit?: number;
    signal?: AbortSignal;
  }): Promise<IEventsPage> {
    const { since, user, kinds, limit, signal } = options;
    const kind = kinds && kinds.length > 0 ? kinds.join(',') : undefined;
    return this.request<IEventsPage>(['events'], {
      query: { since, user, kind, limit },
      signal
    });
  }

  /** `GET whoami` — the Jupyter user as DDAS sees them. */
  whoami(signal?: AbortSignal): Promise<IWhoAmI> {
    return this.request<IWhoAmI>(['whoami'], { signal });
  }

  /** `DELETE copies/{id}` — admin or the copy's owner only (403 otherwise). */
  async forgetCopy(id: number): Promise<void> {
    await this.request<void>(['copies', String(id)], { method: 'DELETE' });
  }

  /**
   * Send one request and decode its JSON answer.
   *
   * Path segments are URL-encoded one by one so an id can never smuggle a
   * `/` or a query into the URL.
   */
  async request<T>(
    segments: string[],
    options: IRequestOptions = {}
  ): Promise<T> {
    const url =
      URLExt.join(
        this.serverSettings.baseUrl,
        API_PATH,
        ...segments.map(encodeURIComponent)
      ) + queryString(options.query ?? {});
    const init: RequestInit = {
      method: options.method ?? 'GET',
      signal: options.signal
    };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        init,
        this.serverSettings
      );
    } catch (error) {
      if (isAbort(error)) {
        throw error;
      }
      throw new DdasApiError(
        `Cannot reach the Jupyter server: ${describe(error)}`,
        0
      );
    }
    if (!response.ok) {
      throw new DdasApiError(await errorMessage(response), response.status);
    }
    if (response.status === 204) {
      return undefined as T;
    }
    const text = await response.text();
    if (!text) {
      return undefined as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new DdasApiError(
        `The server answered ${url} with something that is not JSON.`,
        response.status
      );
    }
  }
}

/** True for the rejection of an aborted fetch. */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The server's `{"message": …}`, or a readable fallback. */
async function errorMessage(response: Response): Promise<string> {
  let body = '';
  try {
    body = await response.text();
    const data = JSON.parse(body) as { message?: unknown; reason?: unknown };
    if (typeof data.message === 'string' && data.message) {
      return data.message;
    }
    if (typeof data.reason === 'string' && data.reason) {
      return data.reason;
    }
  } catch {
    // Not JSON (e.g. a proxy's HTML error page): fall through.
  }
  if (response.status === 404) {
    return 'The DDAS server extension did not answer (404). Is ddas_server enabled on this Jupyter server?';
  }
  return `${response.status} ${response.statusText || 'error'}`.trim();
}
