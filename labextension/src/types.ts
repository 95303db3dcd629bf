/**
 * The shapes of the quantumlayer_nb server extension's REST API (/qlayer/api/...).
 * They mirror docs/server-api.md and the served OpenAPI document.
 */

export interface IBudget {
  name: string;
  scope: string;
  period: string;
  spent_usd: number;
  reserved_usd: number;
  limit_usd: number;
  soft_limit_usd: number | null;
  hard: boolean;
  resets: string | null;
  fraction: number;
}

export interface IModelDayCost {
  model: string;
  day: string;
  cost_usd: number;
  calls: number;
}

export interface ISummary {
  project: string;
  user: string;
  now: string;
  spend: { today_usd: number; month_usd: number };
  calls_today: number;
  cache_hits_today: number;
  cache_saved_usd_today: number;
  estimated_cost_today: boolean;
  budgets: IBudget[];
  cost_by_model: IModelDayCost[];
}

export interface IRouteStep {
  deployment: string;
  reason: string;
  outcome: string;
  latency_ms: number | null;
  cost_usd: number | null;
}

export interface ICall {
  call_id: string;
  ts: string;
  project: string;
  user: string;
  model_requested: string | null;
  deployment: string | null;
  model_served: string | null;
  outcome: string;
  cached: boolean;
  cache_kind: string | null;
  similar_to: string | null;
  tokens_in: number | null;
  tokens_out: number | null;
  tokens_estimated: boolean;
  cost_usd: number | null;
  latency_ms: number | null;
  notebook: string | null;
  cell: number | string | null;
  run_id: string | null;
  route_trace: IRouteStep[];
  error_message: string | null;
}

export interface ICallsPage {
  total: number;
  offset: number;
  limit: number;
  calls: ICall[];
}

export type JobStatus = 'running' | 'done' | 'cancelled' | 'failed' | 'stopped';

export interface IJob {
  id: string;
  kind: 'batch' | 'eval' | 'run';
  title: string;
  pid: number;
  started: number;
  updated: number;
  done: number;
  total: number;
  passed: number;
  failed: number;
  cost_usd: number;
  status: JobStatus;
  eta_s: number | null;
}

export interface IModelHealth {
  deployment: string;
  model: string;
  calls: number;
  p50_ms: number | null;
  p90_ms: number | null;
  error_rate: number;
  rate_limited: number;
  last_error: string | null;
  last_error_hint: string | null;
  circuit: 'closed' | 'open' | 'half_open' | 'unknown';
}

export interface ICallsQuery {
  limit?: number;
  offset?: number;
  model?: string;
  outcome?: string;
  notebook?: string;
  run?: string;
  since?: string;
  until?: string;
  q?: string;
}

/** The provenance the kernel puts on a generated cell (cell metadata `quantumlayer`). */
export interface IProvenance {
  call_id: string;
  model: string;
  prompt_hash?: string;
  tokens?: { in: number | null; out: number | null; estimated: boolean };
  cost_usd: number | null;
  created?: string;
}

/** The payload of an `application/vnd.quantumlayer.cell+json` output. */
export interface ICellPayload {
  version: number;
  action: 'insert' | 'replace';
  code: string;
  metadata: { quantumlayer: IProvenance };
  original: string | null;
  target_execution_count: number | null;
}
