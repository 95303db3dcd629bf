/**
 * @jest-environment node
 */
import { ServerConnection } from '@jupyterlab/services';

import { APIError, QLayerAPI, apiUrl, requestAPI } from '../request';

interface ISeen {
  url: string;
  method: string;
}

function server(
  status: number,
  body: unknown,
  seen: ISeen[] = []
): ServerConnection.ISettings {
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    seen.push({ url: request.url, method: request.method });
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return new Response(text, { status, headers: { 'Content-Type': 'application/json' } });
  };
  return ServerConnection.makeSettings({
    baseUrl: 'http://127.0.0.1:8888/lab-base/',
    wsUrl: 'ws://127.0.0.1:8888/lab-base/',
    token: 'secret',
    fetch: fetch as typeof globalThis.fetch,
    Request,
    Headers
  });
}

describe('apiUrl', () => {
  it('joins the base URL, the API prefix and the path', () => {
    expect(apiUrl('http://h:1/base/', 'summary')).toBe('http://h:1/base/qlayer/api/summary');
  });

  it('encodes path parts and drops empty query values', () => {
    expect(apiUrl('http://h:1/', 'jobs/a b/cancel', { limit: 5, model: '', q: 'x&y' })).toBe(
      'http://h:1/qlayer/api/jobs/a%20b/cancel?limit=5&q=x%26y'
    );
  });
});

describe('requestAPI', () => {
  it('returns the parsed JSON of a 200', async () => {
    const seen: ISeen[] = [];
    const body = await requestAPI<{ jobs: unknown[] }>('jobs', {}, {}, server(200, { jobs: [] }, seen));
    expect(body).toEqual({ jobs: [] });
    expect(seen[0].url).toBe('http://127.0.0.1:8888/lab-base/qlayer/api/jobs');
  });

  it("raises an APIError carrying the server's message on a 400", async () => {
    const settings = server(400, { error: 'limit must be between 1 and 500' });
    await expect(requestAPI('calls', {}, { limit: 0 }, settings)).rejects.toEqual(
      new APIError('limit must be between 1 and 500', 400)
    );
  });

  it('says to enable the server extension on a bare 404', async () => {
    const error = await requestAPI('summary', {}, {}, server(404, '')).catch(e => e);
    expect(error).toBeInstanceOf(APIError);
    expect(error.status).toBe(404);
    expect(error.message).toMatch(/jupyter server extension enable quantumlayer_nb/);
  });

  it('reports an unreachable server as status 0', async () => {
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://127.0.0.1:8888/',
      wsUrl: 'ws://127.0.0.1:8888/',
      fetch: (() => Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch,
      Request,
      Headers
    });
    const error = await requestAPI('summary', {}, {}, settings).catch(e => e);
    expect(error.status).toBe(0);
    expect(error.message).toMatch(/could not be reached/);
  });
});

describe('QLayerAPI', () => {
  it('cancels a job with a POST to jobs/{id}/cancel', async () => {
    const seen: ISeen[] = [];
    const api = new QLayerAPI(server(202, { id: 'j1', status: 'cancelling' }, seen));
    await expect(api.cancelJob('j1')).resolves.toEqual({ id: 'j1', status: 'cancelling' });
    expect(seen).toEqual([
      { url: 'http://127.0.0.1:8888/lab-base/qlayer/api/jobs/j1/cancel', method: 'POST' }
    ]);
  });

  it('sends the calls filters as query parameters and unwraps lists', async () => {
    const seen: ISeen[] = [];
    const api = new QLayerAPI(server(200, { models: [{ deployment: 'loop' }] }, seen));
    await expect(api.models(600)).resolves.toEqual([{ deployment: 'loop' }]);
    expect(seen[0].url).toBe('http://127.0.0.1:8888/lab-base/qlayer/api/models?window_s=600');
    const calls = new QLayerAPI(server(200, { total: 0, offset: 0, limit: 5, calls: [] }, seen));
    await calls.calls({ limit: 5, outcome: 'error' });
    expect(seen[1].url).toBe(
      'http://127.0.0.1:8888/lab-base/qlayer/api/calls?limit=5&outcome=error'
    );
  });
});
