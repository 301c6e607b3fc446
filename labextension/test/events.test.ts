import { isStale, nextSince, toastMessage } from '../src/events';
import { IDdasEvent, IEventsPage } from '../src/types';

function event(id: number, changes: Partial<IDdasEvent> = {}): IDdasEvent {
  return {
    id,
    kind: 'reuse',
    user: 'bob',
    at: '2026-11-22T12:00:00Z',
    content_id: 7,
    source_id: null,
    copy_id: 3,
    bytes: 4_200_000_000,
    seconds: 12,
    name: 'era5.nc',
    detail: {},
    ...changes
  };
}

function page(ids: number[], lastId: number, newestId: number): IEventsPage {
  return {
    items: ids.map(id => event(id)),
    last_id: lastId,
    newest_id: newestId
  };
}

describe('nextSince', () => {
  it('continues after a full page, not at the newest id', () => {
    // More may match between 12 and 90: read them next.
    expect(nextSince(page([10, 11, 12], 12, 90), 9, 3)).toBe(12);
  });

  it('skips to the newest id after a short page', () => {
    // Nothing matching lies between 12 and 90 (the filter saw it all).
    expect(nextSince(page([10, 12], 12, 90), 9, 3)).toBe(90);
    expect(nextSince(page([], 9, 90), 9, 50)).toBe(90);
  });

  it('never goes back', () => {
    expect(nextSince(page([], 5, 5), 40, 50)).toBe(40);
    expect(nextSince(page([41], 41, 30), 40, 1)).toBe(41);
  });
});

describe('isStale', () => {
  const startedAt = Date.parse('2026-11-22T12:00:00Z');

  it('leaves out what happened more than 10 minutes before the start', () => {
    expect(isStale(event(1, { at: '2026-11-22T11:49:00Z' }), startedAt)).toBe(
      true
    );
    expect(isStale(event(1, { at: '2026-11-22T11:51:00Z' }), startedAt)).toBe(
      false
    );
    expect(isStale(event(1, { at: 'garbled' }), startedAt)).toBe(false);
  });
});

describe('toastMessage', () => {
  const now = new Date('2026-11-24T12:00:00Z');

  it('says where the copy is, whose it is, since when and what was saved', () => {
    const context = {
      name: 'era5.nc',
      location: '/shared/era5.nc',
      owner: 'alice',
      since: '2026-11-22T12:00:00Z'
    };
    expect(toastMessage(event(1), context, now)).toBe(
      'era5.nc already exists: /shared/era5.nc (alice, 2 days ago) — reused, 4.2 GB saved'
    );
    expect(toastMessage(event(1, { bytes: 0 }), context, now)).toMatch(
      / — reused$/
    );
    expect(toastMessage(event(1, { kind: 'alert' }), context, now)).toMatch(
      / — no need to download it again$/
    );
  });

  it('stays under 140 characters by cutting the middle of a long path', () => {
    const location = `/shared/${'deep/'.repeat(60)}era5_2020.nc`;
    const message = toastMessage(event(1), { name: 'era5.nc', location }, now);
    expect(message.length).toBeLessThanOrEqual(140);
    expect(message).toContain('era5_2020.nc');
    expect(message).toContain('/shared/');
  });

  it('shows hidden characters and isolates right-to-left names', () => {
    const message = toastMessage(
      event(1),
      { name: 'report_\u202egpj.exe', owner: 'דנה' },
      now
    );
    expect(message).toBe(
      'report_\\u202egpj.exe already exists (\u2066דנה\u2069) — reused, 4.2 GB saved'
    );
    expect(toastMessage(event(1), {}, now)).toBe(
      'This dataset already exists — reused, 4.2 GB saved'
    );
  });
});
