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

/**
 * Characters that reorder or hide text: bidi embeddings, overrides, isolates
 * and marks (U+202A–202E, U+2066–2069, U+200E/F, U+061C), zero-width and
 * other invisible format characters (U+200B–200D, U+2060–2064, U+FEFF, soft
 * hyphen, Hangul fillers, tag characters). In a name they make
 * `report_\u202egpj.exe` display as `report_exe.jpg`, or two different names
 * look identical, so they are never shown as themselves.
 * (Combining ones are alternatives of their own, never in a class after
 * another character, so each is matched alone.)
 */
const DECEPTIVE =
  /[\u00ad\u061c\u115f\u1160\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0]|\u034f|\u17b4|\u17b5|[\u180b-\u180f]|[\u{e0000}-\u{e007f}]/gu;
/** Control characters (C0, DEL, C1) and the Unicode line/paragraph separators. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu;

function escapeCodePoint(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code > 0xffff
    ? `\\U${code.toString(16).padStart(8, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** True if `text` holds a character `visibleText` would escape. */
export function hasHiddenCharacters(text: string): boolean {
  DECEPTIVE.lastIndex = 0;
  CONTROL.lastIndex = 0;
  return DECEPTIVE.test(text) || CONTROL.test(text);
}

/**
 * `text` with every deceptive or control character shown as its escape
 * (`\u202e`, `\u200b`), so what users read is what the registry holds. The one
 * function every view, toast and tooltip shows names, URLs, owners and paths
 * through.
 */
export function visibleText(text: string | null | undefined): string {
  if (!text) {
    return '';
  }
  return text
    .replace(DECEPTIVE, escapeCodePoint)
    .replace(CONTROL, escapeCodePoint);
}

/** Longest name or path shown in full; longer ones are cut (full text on hover). */
export const MAX_SHOWN = 200;

/**
 * What a view shows for a name, URL, owner or path: the visible text, cut in
 * the middle beyond `maxLength` characters, and the full visible text for the
 * `title` (hover).
 */
export function shownText(
  text: string | null | undefined,
  maxLength: number = MAX_SHOWN
): { text: string; title: string } {
  const full = visibleText(text);
  return { text: middleEllipsis(full, maxLength), title: full };
}

/** Letters of right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, N'Ko...). */
const RTL =
  /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\u{10800}-\u{10fff}\u{1e800}-\u{1efff}]/u;

/**
 * For plain-text places (toasts, notifications): the visible text, cut, and
 * isolated left-to-right (U+2066 … U+2069) when it holds right-to-left
 * letters, so that they cannot reorder the words around it. (Once escaped,
 * text without such letters has nothing that could reorder anything.)
 */
export function isolatedText(
  text: string | null | undefined,
  maxLength: number = MAX_SHOWN
): string {
  const shown = middleEllipsis(visibleText(text), maxLength);
  return RTL.test(shown) ? `\u2066${shown}\u2069` : shown;
}
