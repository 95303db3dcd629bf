/**
 * The one REST client of the extension: every URL to the server extension is built here.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  ICallsPage,
  ICallsQuery,
  IJob,
  IModelHealth,
  ISummary
} from './types';

/** A failed request: `status` is the HTTP status (0 when the server was not reached). */
export class APIError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'APIError';
  }
}

/** The URL of an endpoint under /qlayer/api/, with its query (empty values dropped). */
export function apiUrl(
  baseUrl: string,
  path: string,
  query: Record<string, string | number | undefined | null> = {}
): string {
  const parts = path.split('/').filter(p => p.length > 0).map(encodeURIComponent);
  const url = URLExt.join(baseUrl, 'qlayer', 'api', ...parts);
  const params = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return params.length ? `${url}?${params.join('&')}` : url;
}

/** Call an endpoint and parse its JSON; a non-2xx answer raises APIError with the server's message. */
export async function requestAPI<T>(
  path: string,
  init: RequestInit = {},
  query: Record<string, string | number | undefined | null> = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = apiUrl(settings.baseUrl, path, query);
  let response: Response;
  try {
    // 'no-cache' revalidates every poll without the numeric cache-busting query parameter
    // that ServerConnection adds under 'no-store' (the API rejects unknown parameters).
    response = await ServerConnection.makeRequest(url, { cache: 'no-cache', ...init }, settings);
  } catch (error) {
    throw new APIError(
      `The Jupyter server could not be reached (${String(
        (error as Error).message ?? error
      )}); check that it is still running.`,
      0
    );
  }
  const text = await response.text();
  let body: any = null;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    const detail =
      body && typeof body === 'object'
        ? body.error ?? body.message ?? body.reason
        : undefined;
    if (response.status === 404 && !detail) {
      throw new APIError(
        'The quantumlayer_nb server extension is not enabled on this Jupyter server ' +
          '(run: jupyter server extension enable quantumlayer_nb, then restart it).',
        404
      );
    }
    throw new APIError(
      detail ? String(detail) : `${response.status} ${response.statusText}`.trim(),
      response.status
    );
  }
  if (body === null) {
    throw new APIError(`The server sent no JSON for ${path}.`, response.status);
  }
  return body as T;
}

/** Typed accessors for each endpoint. */
export class QLayerAPI {
  constructor(
    private readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  summary(): Promise<ISummary> {
    return requestAPI<ISummary>('summary', {}, {}, this.settings);
  }

  calls(query: ICallsQuery = {}): Promise<ICallsPage> {
    return requestAPI<ICallsPage>('calls', {}, { ...query }, this.settings);
  }

  async jobs(): Promise<IJob[]> {
    const body = await requestAPI<{ jobs: IJob[] }>('jobs', {}, {}, this.settings);
    return body.jobs;
  }

  cancelJob(id: string): Promise<{ id: string; status: string }> {
    return requestAPI(`jobs/${id}/cancel`, { method: 'POST' }, {}, this.settings);
  }

  async models(windowS = 3600): Promise<IModelHealth[]> {
    const body = await requestAPI<{ models: IModelHealth[] }>(
      'models',
      {},
      { window_s: windowS },
      this.settings
    );
    return body.models;
  }
}
