import { Poller, nextDelay } from '../poller';

describe('nextDelay', () => {
  it('is the interval while polls succeed', () => {
    expect(nextDelay(1000, 0)).toBe(1000);
  });

  it('doubles after each failure up to the ceiling', () => {
    expect(nextDelay(1000, 1)).toBe(2000);
    expect(nextDelay(1000, 2)).toBe(4000);
    expect(nextDelay(1000, 10)).toBe(30000);
    expect(nextDelay(250, 1)).toBe(2000);
  });
});

describe('Poller', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('polls at once and then at the interval', async () => {
    const fetch = jest.fn(() => Promise.resolve());
    const poller = new Poller({ fetch, interval: () => 1000 });
    poller.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(3000);
    expect(fetch).toHaveBeenCalledTimes(4);
    poller.stop();
    await jest.advanceTimersByTimeAsync(5000);
    expect(fetch).toHaveBeenCalledTimes(4);
  });

  it('backs off after failures and returns to the interval after a success', async () => {
    let fail = true;
    const times: number[] = [];
    const fetch = jest.fn(() => {
      times.push(Date.now());
      return fail ? Promise.reject(new Error('down')) : Promise.resolve();
    });
    const poller = new Poller({ fetch, interval: () => 1000 });
    const t0 = Date.now();
    poller.start();
    await jest.advanceTimersByTimeAsync(0); // fails: next in 2 s
    await jest.advanceTimersByTimeAsync(2000); // fails: next in 4 s
    expect(poller.failures).toBe(2);
    fail = false;
    await jest.advanceTimersByTimeAsync(4000); // succeeds: next in 1 s
    expect(poller.failures).toBe(0);
    await jest.advanceTimersByTimeAsync(1000);
    expect(times.map(t => t - t0)).toEqual([0, 2000, 6000, 7000]);
    poller.dispose();
  });

  it('does not poll while paused, and resumes on wake', async () => {
    let interval: number | null = null;
    const fetch = jest.fn(() => Promise.resolve());
    const poller = new Poller({ fetch, interval: () => interval });
    poller.start();
    await jest.advanceTimersByTimeAsync(10000);
    expect(fetch).not.toHaveBeenCalled();
    interval = 500;
    poller.wake();
    await jest.advanceTimersByTimeAsync(1000);
    expect(fetch).toHaveBeenCalledTimes(3);
    poller.dispose();
  });

  it('does not poll while the page is hidden', async () => {
    let hidden = true;
    const fetch = jest.fn(() => Promise.resolve());
    const poller = new Poller({ fetch, interval: () => 1000, hidden: () => hidden });
    poller.start();
    await jest.advanceTimersByTimeAsync(5000);
    expect(fetch).not.toHaveBeenCalled();
    hidden = false;
    poller.wake();
    await jest.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(1);
    poller.dispose();
  });

  it('polls immediately on refresh, even during a backoff', async () => {
    const fetch = jest.fn(() => Promise.reject(new Error('down')));
    const poller = new Poller({ fetch, interval: () => 1000 });
    poller.start();
    await jest.advanceTimersByTimeAsync(0);
    await jest.advanceTimersByTimeAsync(2000);
    expect(fetch).toHaveBeenCalledTimes(2); // next one would be 4 s away
    poller.refresh();
    await jest.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(3);
    poller.dispose();
  });
});
