/**
 * One model per data source (summary, jobs, calls, model health). A model polls its endpoint
 * through the Poller, keeps the last answer and the last error, and emits `changed`; views only
 * render what a model holds.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { Poller } from './poller';
import { APIError, QLayerAPI } from './request';
import { ICall, ICallsPage, IJob, IModelHealth, ISummary } from './types';

/** fast: the panel shows; slow: only the status bar needs it; off: nothing needs it. */
export type PollMode = 'fast' | 'slow' | 'off';

export interface IPollIntervals {
  fastMs: number;
  slowMs: number;
}

export const DEFAULT_INTERVALS: IPollIntervals = { fastMs: 1000, slowMs: 10000 };

function pageHidden(): boolean {
  return typeof document !== 'undefined' && document.hidden === true;
}

export abstract class PollingModel<T> implements IDisposable {
  constructor(
    protected readonly api: QLayerAPI,
    protected intervals: IPollIntervals = DEFAULT_INTERVALS,
    /** Poll this many times slower than the fast interval (for data that changes slowly). */
    protected readonly slowdown = 1
  ) {
    this.poller = new Poller({
      fetch: () => this.poll(),
      interval: () => this.currentInterval(),
      hidden: pageHidden,
      onTick: (_failures, next) => {
        this._nextMs = next;
        if (this._error !== null) {
          // Announce a failure once its retry delay is known (the banner shows it).
          this._changed.emit();
        }
      }
    });
    if (typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', this.onVisibility);
    }
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get data(): T | null {
    return this._data;
  }

  get error(): APIError | null {
    return this._error;
  }

  /** Failures in a row; 0 after a success. */
  get failures(): number {
    return this.poller.failures;
  }

  /** Milliseconds until the next poll as scheduled after the last one, or null when paused. */
  get nextPollMs(): number | null {
    return this._nextMs;
  }

  get mode(): PollMode {
    return this._mode;
  }

  set mode(mode: PollMode) {
    if (mode === this._mode) {
      return;
    }
    const faster = mode === 'fast' || (mode === 'slow' && this._mode === 'off');
    this._mode = mode;
    if (!this.poller.running) {
      this.poller.start();
    } else if (faster) {
      this.poller.wake();
    }
  }

  setIntervals(intervals: IPollIntervals): void {
    this.intervals = intervals;
    this.poller.wake();
  }

  /** Poll now (after an action, or from the banner's Retry button). */
  refresh(): void {
    if (!this.poller.running) {
      this.poller.start();
    } else {
      this.poller.refresh();
    }
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this.poller.dispose();
    if (typeof document !== 'undefined') {
      document.removeEventListener('visibilitychange', this.onVisibility);
    }
    Signal.clearData(this);
  }

  protected abstract load(): Promise<T>;

  private currentInterval(): number | null {
    switch (this._mode) {
      case 'fast':
        return this.intervals.fastMs * this.slowdown;
      case 'slow':
        return Math.max(this.intervals.slowMs, this.intervals.fastMs * this.slowdown);
      default:
        return null;
    }
  }

  private async poll(): Promise<void> {
    try {
      this._data = await this.load();
      this._error = null;
      this._changed.emit();
    } catch (error) {
      this._error =
        error instanceof APIError ? error : new APIError(String((error as Error).message), 0);
      throw error;
    }
  }

  private readonly onVisibility = (): void => {
    if (!pageHidden()) {
      this.poller.wake();
    }
  };

  protected readonly poller: Poller;
  private _mode: PollMode = 'off';
  private _data: T | null = null;
  private _error: APIError | null = null;
  private _nextMs: number | null = null;
  private _disposed = false;
  private readonly _changed = new Signal<this, void>(this);
}

/** Spend today and this month, budgets, cost per model and day. */
export class SummaryModel extends PollingModel<ISummary> {
  protected load(): Promise<ISummary> {
    return this.api.summary();
  }
}

/** Running and recent jobs from every process; Cancel goes through the server. */
export class JobsModel extends PollingModel<IJob[]> {
  protected load(): Promise<IJob[]> {
    return this.api.jobs();
  }

  async cancel(id: string): Promise<void> {
    this._cancelling.add(id);
    this.refreshView();
    try {
      await this.api.cancelJob(id);
    } finally {
      this.refresh();
    }
  }

  /** True between a Cancel click and the job's record leaving "running". */
  isCancelling(job: IJob): boolean {
    if (job.status !== 'running') {
      this._cancelling.delete(job.id);
      return false;
    }
    return this._cancelling.has(job.id);
  }

  private refreshView(): void {
    (this.changed as Signal<this, void>).emit();
  }

  private readonly _cancelling = new Set<string>();
}

/** The most recent calls, and which one the user opened. */
export class CallsModel extends PollingModel<ICallsPage> {
  limit = 50;

  get selected(): string | null {
    return this._selected;
  }

  get selectionChanged(): ISignal<this, string | null> {
    return this._selectionChanged;
  }

  /** Open one call (a click in the list or on a generated cell's badge). */
  select(callId: string | null): void {
    this._selected = callId;
    this._selectionChanged.emit(callId);
  }

  find(callId: string): ICall | undefined {
    return this.data?.calls.find(c => c.call_id === callId);
  }

  protected load(): Promise<ICallsPage> {
    return this.api.calls({ limit: this.limit });
  }

  private _selected: string | null = null;
  private readonly _selectionChanged = new Signal<this, string | null>(this);
}

/** Latency, errors and circuit state per deployment. */
export class HealthModel extends PollingModel<IModelHealth[]> {
  windowS = 3600;

  protected load(): Promise<IModelHealth[]> {
    return this.api.models(this.windowS);
  }
}
