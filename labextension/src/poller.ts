/**
 * Polling with backoff: one fetch at a time, a delay chosen by the caller's mode
 * (fast while the panel shows, slow for the status bar, paused), doubling after each failure
 * up to a ceiling, and nothing at all while the browser tab is hidden.
 */

export interface ITimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: ITimers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: handle => globalThis.clearTimeout(handle as number)
};

/** The delay before the next poll after `failures` failures in a row. */
export function nextDelay(intervalMs: number, failures: number, maxMs = 30000): number {
  if (failures <= 0) {
    return intervalMs;
  }
  const base = Math.max(intervalMs, 1000);
  return Math.min(maxMs, base * 2 ** failures);
}

export interface IPollerOptions {
  /** One poll; a rejection counts as a failure. */
  fetch: () => Promise<void>;
  /** The wanted interval in ms now, or null to pause. */
  interval: () => number | null;
  /** True when the page is hidden (then no poll runs until `wake()`). */
  hidden?: () => boolean;
  /** Backoff ceiling in ms. */
  maxBackoffMs?: number;
  timers?: ITimers;
  /** Called after each poll with the failure count and the delay until the next one. */
  onTick?: (failures: number, nextMs: number | null) => void;
}

export class Poller {
  constructor(private readonly options: IPollerOptions) {
    this.timers = options.timers ?? realTimers;
  }

  /** Failures in a row (0 after a success). */
  get failures(): number {
    return this._failures;
  }

  get running(): boolean {
    return this._started;
  }

  /** Poll now, then keep polling. */
  start(): void {
    if (this._disposed) {
      return;
    }
    this._started = true;
    this.schedule(0);
  }

  stop(): void {
    this._started = false;
    this.clear();
  }

  /** Re-evaluate the schedule now (the mode or the page visibility changed). */
  wake(): void {
    if (this._started && !this._inFlight) {
      this.schedule(0);
    }
  }

  /** Poll immediately, whatever the backoff (a "Retry now" button). */
  refresh(): void {
    if (this._started && !this._inFlight) {
      this.clear();
      void this.tick(true);
    }
  }

  dispose(): void {
    this._disposed = true;
    this.stop();
  }

  private clear(): void {
    if (this._handle !== null) {
      this.timers.clearTimeout(this._handle);
      this._handle = null;
    }
  }

  private schedule(ms: number): void {
    this.clear();
    this._handle = this.timers.setTimeout(() => {
      this._handle = null;
      void this.tick(false);
    }, ms);
  }

  private async tick(forced: boolean): Promise<void> {
    if (!this._started) {
      return;
    }
    const interval = this.options.interval();
    if (interval === null || (this.options.hidden?.() ?? false)) {
      // Paused or hidden: do nothing until wake().
      this.options.onTick?.(this._failures, null);
      return;
    }
    this._inFlight = true;
    try {
      await this.options.fetch();
      this._failures = 0;
    } catch {
      this._failures += 1;
    } finally {
      this._inFlight = false;
    }
    if (!this._started) {
      return;
    }
    const after = this.options.interval();
    if (after === null) {
      this.options.onTick?.(this._failures, null);
      return;
    }
    const delay = nextDelay(after, this._failures, this.options.maxBackoffMs);
    this.options.onTick?.(this._failures, delay);
    void forced;
    this.schedule(delay);
  }

  private readonly timers: ITimers;
  private _handle: unknown = null;
  private _failures = 0;
  private _inFlight = false;
  private _started = false;
  private _disposed = false;
}
