import { SummaryModel } from '../models';
import { APIError, QLayerAPI } from '../request';
import { ISummary } from '../types';

const SUMMARY = { spend: { today_usd: 1, month_usd: 2 }, budgets: [] } as unknown as ISummary;

function fakeApi(impl: () => Promise<ISummary>): { api: QLayerAPI; calls: () => number } {
  let n = 0;
  const api = {
    summary: () => {
      n += 1;
      return impl();
    }
  } as unknown as QLayerAPI;
  return { api, calls: () => n };
}

describe('SummaryModel polling', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('polls fast while the panel shows and slowly for the status bar alone', async () => {
    const { api, calls } = fakeApi(() => Promise.resolve(SUMMARY));
    const model = new SummaryModel(api, { fastMs: 1000, slowMs: 10000 });
    model.mode = 'fast';
    await jest.advanceTimersByTimeAsync(5000);
    expect(calls()).toBe(6); // at 0, 1, 2, 3, 4, 5 s
    model.mode = 'slow';
    await jest.advanceTimersByTimeAsync(1000); // the poll already scheduled
    const before = calls();
    await jest.advanceTimersByTimeAsync(20000);
    expect(calls() - before).toBe(2);
    model.mode = 'off';
    await jest.advanceTimersByTimeAsync(60000);
    const off = calls();
    await jest.advanceTimersByTimeAsync(60000);
    expect(calls()).toBe(off);
    model.dispose();
  });

  it('does not poll while the browser tab is hidden', async () => {
    const { api, calls } = fakeApi(() => Promise.resolve(SUMMARY));
    const hidden = jest.spyOn(document, 'hidden', 'get').mockReturnValue(true);
    const model = new SummaryModel(api, { fastMs: 1000, slowMs: 10000 });
    model.mode = 'fast';
    await jest.advanceTimersByTimeAsync(10000);
    expect(calls()).toBe(0);
    hidden.mockReturnValue(false);
    document.dispatchEvent(new Event('visibilitychange'));
    await jest.advanceTimersByTimeAsync(0);
    expect(calls()).toBe(1);
    hidden.mockRestore();
    model.dispose();
  });

  it('keeps the last data, exposes the error and backs off, then recovers', async () => {
    let up = true;
    const { api, calls } = fakeApi(() =>
      up ? Promise.resolve(SUMMARY) : Promise.reject(new APIError('ledger unreadable', 500))
    );
    const model = new SummaryModel(api, { fastMs: 1000, slowMs: 10000 });
    const changes: (string | null)[] = [];
    const retries: (number | null)[] = [];
    model.changed.connect(() => {
      changes.push(model.error?.message ?? null);
      retries.push(model.error ? model.nextPollMs : null);
    });
    model.mode = 'fast';
    await jest.advanceTimersByTimeAsync(0);
    up = false;
    await jest.advanceTimersByTimeAsync(1000);
    expect(model.error?.message).toBe('ledger unreadable');
    expect(model.data).toBe(SUMMARY);
    expect(model.nextPollMs).toBe(2000);
    await jest.advanceTimersByTimeAsync(2000);
    expect(model.nextPollMs).toBe(4000);
    const failing = calls();
    await jest.advanceTimersByTimeAsync(3000);
    expect(calls()).toBe(failing); // still backing off
    up = true;
    await jest.advanceTimersByTimeAsync(1000);
    expect(model.error).toBeNull();
    expect(changes).toEqual([null, 'ledger unreadable', 'ledger unreadable', null]);
    // Each failure is announced with the delay of its retry, for the banner.
    expect(retries).toEqual([null, 2000, 4000, null]);
    model.dispose();
  });
});
