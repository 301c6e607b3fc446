import {
  canLoadMore,
  emptyPagedList,
  IPagedList,
  IPageOf,
  PagedListAction,
  pagedListReducer,
  remainingRows
} from '../src/pagedList';

interface IRow {
  id: number;
}
type Page = IPageOf<IRow>;
type List = IPagedList<IRow, Page>;

function rows(...ids: number[]): IRow[] {
  return ids.map(id => ({ id }));
}

function page(ids: number[], total: number, exact?: boolean, limit = 3): Page {
  return { items: rows(...ids), total, limit, total_exact: exact };
}

function run(...actions: PagedListAction<Page>[]): List {
  return actions.reduce<List>(pagedListReducer, emptyPagedList<IRow, Page>());
}

describe('pagedListReducer', () => {
  it('starts empty, waiting for its first page', () => {
    const list = run();
    expect(list.page).toBeNull();
    expect(remainingRows(list)).toBe(0);
    expect(canLoadMore(list)).toBe(false);
  });

  it('appends later pages without showing a row twice', () => {
    const first = page([1, 2, 3], 7);
    const list = run(
      { type: 'page', page: first, first: true },
      { type: 'loadingMore' },
      // rows shifted between the requests: 3 comes again
      { type: 'page', page: page([3, 4, 5], 7), first: false }
    );
    expect(list.items.map(r => r.id)).toEqual([1, 2, 3, 4, 5]);
    expect(list.total).toBe(7);
    expect(list.exact).toBe(true);
    expect(list.loadingMore).toBe(false);
    expect(remainingRows(list)).toBe(2);
    expect(canLoadMore(list)).toBe(true);
  });

  it('is complete when every row is loaded', () => {
    const list = run({ type: 'page', page: page([1, 2], 2), first: true });
    expect(remainingRows(list)).toBe(0);
    expect(canLoadMore(list)).toBe(false);
  });

  it('never counts fewer rows than it shows', () => {
    const list = run(
      { type: 'page', page: page([1, 2, 3], 4), first: true },
      { type: 'page', page: page([4, 5, 6], 4), first: false }
    );
    expect(list.total).toBe(6);
    expect(remainingRows(list)).toBe(0);
  });

  it('keeps offering more while the total is an estimate', () => {
    const list = run({
      type: 'page',
      page: page([1, 2, 3], 3, false),
      first: true
    });
    expect(list.exact).toBe(false);
    expect(remainingRows(list)).toBe(1);
    expect(canLoadMore(list)).toBe(true);
  });

  it('turns an estimate into the count at a short page', () => {
    const list = run(
      { type: 'page', page: page([1, 2, 3], 900, false), first: true },
      { type: 'page', page: page([4], 900, false), first: false }
    );
    expect(list.exact).toBe(true);
    expect(list.total).toBe(4);
    expect(canLoadMore(list)).toBe(false);
  });

  it('ends where a cursor-paged route says its last page is', () => {
    const last = { ...page([1, 2, 3], 9), next_cursor: null };
    const more = { ...page([1, 2, 3], 9), next_cursor: 'c3' };
    expect(canLoadMore(run({ type: 'page', page: last, first: true }))).toBe(
      false
    );
    expect(remainingRows(run({ type: 'page', page: more, first: true }))).toBe(
      6
    );
  });

  it('tells a failed first page from a failed next page', () => {
    const failure = new Error('503 the database is unreachable');
    const first = run({ type: 'failed', error: failure, first: true });
    expect(first.error).toBe(failure);
    expect(first.moreError).toBeNull();

    const more = run(
      { type: 'page', page: page([1, 2, 3], 9), first: true },
      { type: 'loadingMore' },
      { type: 'failed', error: failure, first: false }
    );
    expect(more.error).toBeNull();
    expect(more.moreError).toBe(failure);
    expect(more.loadingMore).toBe(false);
    expect(more.items).toHaveLength(3);
    expect(canLoadMore(more)).toBe(false);

    const retried = pagedListReducer(more, { type: 'loadingMore' });
    expect(retried.moreError).toBeNull();
    expect(retried.loadingMore).toBe(true);
    expect(canLoadMore(retried)).toBe(false);
  });

  it('forgets everything on reset', () => {
    const list = run(
      { type: 'page', page: page([1, 2, 3], 9), first: true },
      { type: 'reset' }
    );
    expect(list).toEqual(emptyPagedList());
  });
});
