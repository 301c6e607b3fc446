import {
  formatBytes,
  formatRelativeTime,
  hasHiddenCharacters,
  isolatedText,
  middleEllipsis,
  parseTimestamp,
  plural,
  shortDigest,
  shownText,
  visibleText
} from '../src/format';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [12, '12 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [950_000, '950 kB'],
    [4_200_000_000, '4.2 GB'],
    [-1500, '-1.5 kB'],
    // 999.96 kB rounds to 1000.0: carried into the next unit
    [999_960, '1.0 MB'],
    [2 * 10 ** 21, '2000 EB']
  ])('%p bytes is %p', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('says — for no number', () => {
    expect(formatBytes(null)).toBe('—');
    expect(formatBytes(undefined)).toBe('—');
    expect(formatBytes(Number.NaN)).toBe('—');
    expect(formatBytes(Number.POSITIVE_INFINITY)).toBe('—');
  });
});

describe('plural', () => {
  it('agrees with the count', () => {
    expect(plural(1, 'copy', 'copies')).toBe('1 copy');
    expect(plural(3, 'copy', 'copies')).toBe('3 copies');
    expect(plural(0, 'dataset')).toBe('0 datasets');
  });
});

describe('formatRelativeTime', () => {
  const now = new Date('2026-11-22T12:00:00Z');

  it.each([
    ['2026-11-22T11:59:30Z', 'just now'],
    ['2026-11-22T11:55:00Z', '5 minutes ago'],
    ['2026-11-22T09:00:00Z', '3 hours ago'],
    ['2026-11-21T12:00:00Z', 'yesterday'],
    ['2026-11-20T12:00:00Z', '2 days ago'],
    ['2026-11-01T12:00:00Z', '3 weeks ago'],
    ['2025-10-18T12:00:00Z', 'last year'],
    ['2026-11-22T15:00:00Z', 'in 3 hours']
  ])('%p is %p', (value, text) => {
    expect(formatRelativeTime(value, now)).toBe(text);
  });

  it('says never (or what it is told) for no time', () => {
    expect(formatRelativeTime(null, now)).toBe('never');
    expect(formatRelativeTime('not a time', now)).toBe('never');
    expect(formatRelativeTime('', now, 'not yet')).toBe('not yet');
    expect(parseTimestamp('2026-11-22T12:00:00Z')?.getTime()).toBe(
      now.getTime()
    );
  });
});

describe('shortDigest and middleEllipsis', () => {
  it('cuts a digest after 12 characters', () => {
    expect(shortDigest('0123456789abcdef')).toBe('0123456789ab…');
    expect(shortDigest('0123')).toBe('0123');
  });

  it('keeps both ends of a long path', () => {
    const path = '/shared/projects/climate/era5/reanalysis/2020/t2m.nc';
    const cut = middleEllipsis(path, 20);
    expect(cut).toHaveLength(20);
    expect(cut.startsWith('/shared')).toBe(true);
    expect(cut.endsWith('t2m.nc')).toBe(true);
    expect(middleEllipsis(path, path.length)).toBe(path);
    expect(middleEllipsis(path, 1)).toBe('…');
  });
});

describe('visibleText', () => {
  it('shows bidi, zero-width, tag and control characters as escapes', () => {
    expect(visibleText('report_\u202egpj.exe')).toBe('report_\\u202egpj.exe');
    expect(visibleText('a\u200bb\u0000c\u0085')).toBe(
      'a\\u200bb\\u0000c\\u0085'
    );
    expect(visibleText('tag\u{e0041}')).toBe('tag\\U000e0041');
    expect(visibleText(null)).toBe('');
  });

  it('leaves ordinary text of any script alone', () => {
    const text = 'données 数据 עברית 🚀 e\u0301';
    expect(visibleText(text)).toBe(text);
    expect(hasHiddenCharacters(text)).toBe(false);
    expect(hasHiddenCharacters('x\u2066y')).toBe(true);
  });

  it('gives views the cut text and the full text for the tooltip', () => {
    const long = `${'a'.repeat(150)}\u202e${'b'.repeat(150)}`;
    const shown = shownText(long);
    expect(shown.title).toBe(`${'a'.repeat(150)}\\u202e${'b'.repeat(150)}`);
    expect(shown.text).toHaveLength(200);
    expect(shownText('short')).toEqual({ text: 'short', title: 'short' });
  });

  it('isolates right-to-left text in plain-text places only', () => {
    expect(isolatedText('עברית.nc')).toBe('\u2066עברית.nc\u2069');
    expect(isolatedText('plain.nc')).toBe('plain.nc');
    expect(isolatedText('x\u202e')).toBe('x\\u202e');
  });
});
