/**
 * Turning numbers and timestamps into the short text people read at a
 * glance ("4.2 GB", "2 days ago"). Pure functions, so views stay simple and
 * the wording is the same everywhere (sidebar, toasts, tooltips).
 */

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/**
 * Human size with decimal (SI) units, as download tools and storage quotas
 * show them: `4.2 GB`, `950 kB`, `12 B`.
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) {
    return '—';
  }
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) {
    return `${sign}${value} B`;
  }
  const digits = value >= 100 ? 0 : 1;
  // 999.96 kB would print as "1000.0 kB": carry into the next unit instead.
  if (Number(value.toFixed(digits)) >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${sign}${value.toFixed(value >= 100 ? 0 : 1)} ${BYTE_UNITS[unit]}`;
}

/** `12,345` in the user's locale. */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? n.toLocaleString() : '—';
}

/** `1 copy`, `3 copies`. */
export function plural(
  n: number,
  singular: string,
  pluralForm?: string
): string {
  return `${formatCount(n)} ${n === 1 ? singular : (pluralForm ?? `${singular}s`)}`;
}

/** Parse an API timestamp; `null` for absent or unparsable values. */
export function parseTimestamp(value: string | null | undefined): Date | null {
  if (!value) {
    return null;
  }
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

const RELATIVE_STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
  ['week', 4.35],
  ['month', 12],
  ['year', Number.POSITIVE_INFINITY]
];

const relativeFormat = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/**
 * `2 days ago`, `yesterday`, `just now`; `never` when there is no time.
 * `now` is a parameter so tests and lists rendered together agree.
 */
export function formatRelativeTime(
  value: string | null | undefined,
  now: Date = new Date(),
  never = 'never'
): string {
  const date = parseTimestamp(value);
  if (!date) {
    return never;
  }
  let amount = (date.getTime() - now.getTime()) / 1000;
  if (Math.abs(amount) < 45) {
    return 'just now';
  }
  for (const [unit, size] of RELATIVE_STEPS) {
    if (Math.abs(amount) < size) {
      return relativeFormat.format(Math.round(amount), unit);
    }
    amount /= size;
  }
  return date.toLocaleDateString();
}

/** Full local date and time, for tooltips next to a relative time. */
export function formatDateTime(value: string | null | undefined): string {
  const date = parseTimestamp(value);
  return date ? date.toLocaleString() : '';
}

/** First characters of a hex digest, enough to tell contents apart. */
export function shortDigest(hex: string, length = 12): string {
  return hex.length > length ? `${hex.slice(0, length)}…` : hex;
}

/**
 * Shorten the middle of a long path so both its root (`/shared/…`) and its
 * file name stay visible, e.g. in a 140-character toast.
 */
export function middleEllipsis(text: string, maxLength: number): string {
  if (text.length <= maxLength) {
    return text;
  }
  if (maxLength <= 1) {
    return '…';
  }
  const keep = maxLength - 1;
  const head = Math.ceil(keep * 0.4);
  const tail = keep - head;
  return `${text.slice(0, head)}…${text.slice(text.length - tail)}`;
}
