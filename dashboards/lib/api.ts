/**
 * A small client for Superset's REST API: JWT login, dashboards and their charts, and the
 * chart data endpoint run with a chart's saved query_context.
 */
import { ShopflowError } from '../../lib/errors.ts';

export interface DashboardSummary {
  id: number;
  slug: string;
  title: string;
}

export interface ChartSummary {
  id: number;
  name: string;
  vizType: string;
  queryContext: string | null;
}

export interface ChartDataResult {
  status: number;
  rowcounts: number[];
  errors: string[];
  /** Each query's rows after Superset's post-processing, in the order the chart draws them. */
  data: Record<string, unknown>[][];
}

export class SupersetApi {
  private constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  static async login(baseUrl: string, username: string, password: string): Promise<SupersetApi> {
    const response = await fetch(`${baseUrl}/api/v1/security/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password, provider: 'db', refresh: false }),
      signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok)
      throw new ShopflowError(
        'SHOPFLOW_SUPERSET_LOGIN',
        `Superset login as ${username} failed: HTTP ${response.status} ${await response.text()}`,
      );
    const { access_token: token } = (await response.json()) as { access_token: string };
    return new SupersetApi(baseUrl, token);
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: T }> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(120_000),
    });
    const text = await response.text();
    let json: T;
    try {
      json = JSON.parse(text) as T;
    } catch {
      throw new ShopflowError('SHOPFLOW_SUPERSET_API', `${method} ${path}: HTTP ${response.status}, not JSON: ${text.slice(0, 300)}`);
    }
    return { status: response.status, json };
  }

  async dashboards(): Promise<DashboardSummary[]> {
    const query = encodeURIComponent('(page_size:100)');
    const { status, json } = await this.request<{ result: { id: number; slug: string; dashboard_title: string }[] }>(
      'GET',
      `/api/v1/dashboard/?q=${query}`,
    );
    if (status !== 200) throw new ShopflowError('SHOPFLOW_SUPERSET_API', `listing dashboards: HTTP ${status}`);
    return json.result.map((d) => ({ id: d.id, slug: d.slug, title: d.dashboard_title })).sort((a, b) => a.id - b.id);
  }

  async dashboardCharts(idOrSlug: number | string): Promise<{ id: number; name: string }[]> {
    const { status, json } = await this.request<{ result: { id: number; slice_name: string }[] }>(
      'GET',
      `/api/v1/dashboard/${idOrSlug}/charts`,
    );
    if (status !== 200) throw new ShopflowError('SHOPFLOW_SUPERSET_API', `charts of dashboard ${idOrSlug}: HTTP ${status}`);
    return json.result.map((c) => ({ id: c.id, name: c.slice_name }));
  }

  async chart(id: number): Promise<ChartSummary> {
    const { status, json } = await this.request<{
      result: { id: number; slice_name: string; viz_type: string; query_context: string | null };
    }>('GET', `/api/v1/chart/${id}`);
    if (status !== 200) throw new ShopflowError('SHOPFLOW_SUPERSET_API', `chart ${id}: HTTP ${status}`);
    return { id: json.result.id, name: json.result.slice_name, vizType: json.result.viz_type, queryContext: json.result.query_context };
  }

  /** Runs a chart's saved query_context through POST /api/v1/chart/data, as the UI does. */
  async chartData(queryContext: string, options: { force?: boolean } = {}): Promise<ChartDataResult> {
    const body = JSON.parse(queryContext) as Record<string, unknown>;
    // force: run the query against the database, not Superset's result cache.
    if (options.force) body.force = true;
    const { status, json } = await this.request<{
      result?: { rowcount: number; error?: string | null; data?: Record<string, unknown>[] }[];
      message?: unknown;
      errors?: { message: string }[];
    }>('POST', '/api/v1/chart/data', body);
    const errors = [
      ...(json.result ?? []).flatMap((r) => (r.error ? [r.error] : [])),
      ...(json.errors ?? []).map((e) => e.message),
      ...(json.message !== undefined && status !== 200 ? [JSON.stringify(json.message)] : []),
    ];
    return { status, rowcounts: (json.result ?? []).map((r) => r.rowcount), errors, data: (json.result ?? []).map((r) => r.data ?? []) };
  }
}
