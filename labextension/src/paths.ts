/**
 * Mapping a copy's location on disk to a path of the Jupyter contents API,
 * which is what the file browser understands. Only local paths under the
 * server root can be shown there; fsspec URLs (s3://…) and paths elsewhere
 * cannot, and the sidebar hides "Open in file browser" for them.
 */

/** `file:///a/b` → `/a/b`; other URLs (s3://, https://) → null. */
function localPath(location: string): string | null {
  if (location.startsWith('file://')) {
    try {
      return decodeURIComponent(new URL(location).pathname);
    } catch {
      return null;
    }
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(location)) {
    return null;
  }
  if (location.includes('::')) {
    // fsspec URL chaining such as `ddas::s3://…` or `filecache::…`.
    return null;
  }
  return location;
}

/** Forward slashes, no trailing slash, no `.` segments. */
function normalize(path: string): string {
  const windowsLike = /^[a-zA-Z]:[\\/]/.test(path) || path.includes('\\');
  let p = windowsLike ? path.replace(/\\/g, '/') : path;
  p = p.replace(/\/+/g, '/').replace(/\/\.(?=\/|$)/g, '');
  if (p.length > 1 && p.endsWith('/')) {
    p = p.slice(0, -1);
  }
  return p;
}

/**
 * The contents-API path (relative, `/`-separated) of `location` when it lies
 * under `serverRoot`, or `null` when the file browser cannot reach it.
 */
export function contentsPathFor(
  location: string,
  serverRoot: string
): string | null {
  const local = localPath(location);
  if (local === null || !serverRoot) {
    return null;
  }
  const path = normalize(local);
  const root = normalize(serverRoot);
  if (path.split('/').includes('..')) {
    return null;
  }
  // Windows drive letters compare case-insensitively.
  const same = (a: string, b: string) =>
    /^[a-zA-Z]:/.test(b) ? a.toLowerCase() === b.toLowerCase() : a === b;
  if (root === '/' && path.startsWith('/')) {
    return path.slice(1) || null;
  }
  const prefix = path.slice(0, root.length);
  if (same(prefix, root) && path.charAt(root.length) === '/') {
    return path.slice(root.length + 1) || null;
  }
  return null;
}
