/**
 * ChartDef -> Superset chart `params` (form data, what Explore edits) and `query_context`
 * (the request POST /api/v1/chart/data runs), shaped the way Superset 6's frontend builds them.
 * The datasource id is a placeholder: the importer rewrites it to the imported dataset's id.
 */
import type { Axis, ChartDef } from './model.ts';

type Json = Record<string, unknown>;

export interface BuiltChart {
  vizType: string;
  params: Json;
  queryContext: Json;
}

const PLACEHOLDER_DATASOURCE = '0__table';

function baseAxis(axis: Axis): Json {
  return {
    columnType: 'BASE_AXIS',
    sqlExpression: axis.column,
    label: axis.column,
    expressionType: 'SQL',
    ...(axis.grain ? { timeGrain: axis.grain } : {}),
  };
}

function queryObject(parts: {
  where?: string;
  filters?: unknown[];
  columns?: unknown[];
  metrics?: unknown[];
  orderby?: unknown[];
  rowLimit?: number;
  postProcessing?: unknown[];
  seriesColumns?: unknown[];
  grain?: string;
}): Json {
  return {
    filters: parts.filters ?? [],
    extras: { having: '', where: parts.where ? `(${parts.where})` : '', ...(parts.grain ? { time_grain_sqla: parts.grain } : {}) },
    applied_time_extras: {},
    columns: parts.columns ?? [],
    metrics: parts.metrics ?? [],
    orderby: parts.orderby ?? [],
    annotation_layers: [],
    row_limit: parts.rowLimit ?? 10000,
    series_limit: 0,
    order_desc: true,
    url_params: {},
    custom_params: {},
    custom_form_data: {},
    time_offsets: [],
    post_processing: parts.postProcessing ?? [],
    ...(parts.seriesColumns ? { series_columns: parts.seriesColumns } : {}),
  };
}

function pivotFlatten(index: string, columns: string[], metrics: string[]): unknown[] {
  return [
    {
      operation: 'pivot',
      options: {
        index: [index],
        columns,
        aggregates: Object.fromEntries(metrics.map((m) => [m, { operator: 'mean' }])),
        drop_missing_columns: false,
      },
    },
    { operation: 'flatten' },
  ];
}

export interface ChartFilters {
  where?: string;
  filter?: { column: string; op: '<' | '<=' | '>' | '>=' | '=='; value: number | string };
}

const OPERATOR_IDS: Record<string, string> = {
  '<': 'LESS_THAN',
  '<=': 'LESS_THAN_OR_EQUAL',
  '>': 'GREATER_THAN',
  '>=': 'GREATER_THAN_OR_EQUAL',
  '==': 'EQUALS',
};

function adhocFilters(filters: ChartFilters): unknown[] {
  const adhoc: unknown[] = [];
  if (filters.where) {
    adhoc.push({
      expressionType: 'SQL',
      sqlExpression: filters.where,
      clause: 'WHERE',
      subject: null,
      operator: null,
      comparator: null,
      isExtra: false,
      isNew: false,
      filterOptionName: `filter_sql_${Buffer.from(filters.where).toString('hex').slice(0, 12)}`,
    });
  }
  if (filters.filter) {
    const { column, op, value } = filters.filter;
    adhoc.push({
      expressionType: 'SIMPLE',
      subject: column,
      operator: op,
      operatorId: OPERATOR_IDS[op],
      comparator: value,
      clause: 'WHERE',
      sqlExpression: null,
      isExtra: false,
      isNew: false,
      filterOptionName: `filter_${column}_${OPERATOR_IDS[op]!.toLowerCase()}`,
    });
  }
  return adhoc;
}

function common(vizType: string, filters: ChartFilters): Json {
  return {
    datasource: PLACEHOLDER_DATASOURCE,
    viz_type: vizType,
    adhoc_filters: adhocFilters(filters),
    time_range: 'No filter',
    extra_form_data: {},
    dashboards: [],
  };
}

function context(params: Json, queries: Json[]): Json {
  return { datasource: { id: 0, type: 'table' }, force: false, queries, form_data: params, result_format: 'json', result_type: 'full' };
}

export function buildChart(def: ChartDef, where: ChartFilters = {}): BuiltChart {
  const query = (parts: Parameters<typeof queryObject>[0]) =>
    queryObject({
      ...parts,
      ...(where.where ? { where: where.where } : {}),
      ...(where.filter ? { filters: [{ col: where.filter.column, op: where.filter.op, val: where.filter.value }] } : {}),
    });
  switch (def.kind) {
    case 'big_number_total': {
      const params = {
        ...common('big_number_total', where),
        metric: def.metric,
        subheader: def.subheader,
        header_font_size: 0.4,
        subheader_font_size: 0.15,
        y_axis_format: def.format ?? 'SMART_NUMBER',
        time_format: 'smart_date',
      };
      return { vizType: 'big_number_total', params, queryContext: context(params, [query({ metrics: [def.metric], rowLimit: 1 })]) };
    }
    case 'big_number': {
      const params = {
        ...common('big_number', where),
        x_axis: def.x.column,
        time_grain_sqla: def.x.grain ?? 'P1D',
        metric: def.metric,
        show_trend_line: true,
        start_y_axis_at_zero: true,
        compare_lag: 1,
        compare_suffix: def.subheader ?? 'vs previous period',
        header_font_size: 0.4,
        subheader_font_size: 0.15,
        y_axis_format: def.format ?? 'SMART_NUMBER',
        time_format: 'smart_date',
        rolling_type: 'None',
      };
      const q = query({
        columns: [baseAxis({ column: def.x.column, grain: def.x.grain ?? 'P1D' })],
        metrics: [def.metric],
        orderby: [[def.metric, false]],
        grain: def.x.grain ?? 'P1D',
        postProcessing: pivotFlatten(def.x.column, [], [def.metric]),
      });
      return { vizType: 'big_number', params, queryContext: context(params, [q]) };
    }
    case 'timeseries': {
      const vizType = def.style === 'bar' ? 'echarts_timeseries_bar' : def.style === 'area' ? 'echarts_area' : 'echarts_timeseries_line';
      const groupby = def.groupby ?? [];
      const params = {
        ...common(vizType, where),
        x_axis: def.x.column,
        time_grain_sqla: def.x.grain ?? 'P1D',
        metrics: def.metrics,
        groupby,
        row_limit: 10000,
        truncate_metric: true,
        show_legend: true,
        legendType: 'scroll',
        legendOrientation: 'top',
        rich_tooltip: true,
        tooltipTimeFormat: 'smart_date',
        x_axis_time_format: 'smart_date',
        y_axis_format: def.format ?? 'SMART_NUMBER',
        y_axis_title: def.yTitle ?? '',
        x_axis_title: def.xTitle ?? '',
        y_axis_title_position: 'Left',
        y_axis_title_margin: def.yTitle ? 30 : 0,
        stack: def.stack ? 'Stack' : null,
        only_total: true,
        order_desc: true,
        zoomable: false,
        markerEnabled: false,
        comparison_type: 'values',
        annotation_layers: [],
        seriesType: def.style === 'bar' ? 'bar' : 'line',
        opacity: def.style === 'area' ? 0.5 : 0.2,
      };
      const q = query({
        columns: [baseAxis({ column: def.x.column, grain: def.x.grain ?? 'P1D' }), ...groupby],
        seriesColumns: groupby,
        metrics: def.metrics,
        orderby: [[def.metrics[0], false]],
        grain: def.x.grain ?? 'P1D',
        postProcessing: pivotFlatten(def.x.column, groupby, def.metrics),
      });
      return { vizType, params, queryContext: context(params, [q]) };
    }
    case 'category_bar': {
      const groupby = def.groupby ?? [];
      const sortBy = def.sortBy ?? 'metric';
      const sortByMetric = sortBy === 'metric';
      // Superset fetches a "sort by" metric that is not drawn when it is also the series limit
      // metric and there is no groupby; with a groupby it would be drawn, so refuse that here.
      const sortMetric = typeof sortBy === 'object' ? sortBy.metric : undefined;
      if (sortMetric && groupby.length > 0) throw new Error(`category_bar: sorting by metric ${sortMetric} needs no groupby`);
      const params = {
        ...common('echarts_timeseries_bar', where),
        x_axis: def.x,
        metrics: def.metrics,
        groupby,
        orientation: def.horizontal ? 'horizontal' : 'vertical',
        ...(sortMetric ? { timeseries_limit_metric: sortMetric } : {}),
        x_axis_sort: sortMetric ?? (sortByMetric ? def.metrics[0] : def.x),
        x_axis_sort_asc: !sortByMetric,
        x_axis_sort_series: 'sum',
        x_axis_sort_series_ascending: false,
        row_limit: def.rowLimit ?? 1000,
        show_legend: def.metrics.length > 1 || groupby.length > 0,
        legendType: 'scroll',
        legendOrientation: 'top',
        rich_tooltip: true,
        y_axis_format: def.format ?? 'SMART_NUMBER',
        stack: def.stack ? 'Stack' : null,
        truncateXAxis: true,
        xAxisLabelRotation: def.horizontal ? 0 : 45,
        seriesType: 'bar',
        comparison_type: 'values',
        annotation_layers: [],
      };
      const queried = sortMetric ? [...def.metrics, sortMetric] : def.metrics;
      const [pivot, flatten] = pivotFlatten(def.x, groupby, queried);
      const q = query({
        columns: [baseAxis({ column: def.x }), ...groupby],
        seriesColumns: groupby,
        metrics: queried,
        orderby: sortMetric ? [[sortMetric, true]] : [[def.metrics[0], false]],
        rowLimit: def.rowLimit ?? 1000,
        postProcessing: sortMetric
          ? [pivot, { operation: 'sort', options: { by: sortMetric, ascending: true } }, flatten]
          : [pivot, flatten],
      });
      return { vizType: 'echarts_timeseries_bar', params, queryContext: context(params, [q]) };
    }
    case 'pie': {
      const params = {
        ...common('pie', where),
        groupby: [def.groupby],
        metric: def.metric,
        row_limit: 100,
        sort_by_metric: true,
        donut: def.donut ?? true,
        // Each slice is named by its own label, outside the ring on a leader line; a legend on the
        // right as well took a third of a narrow chart's width and cut those labels at the edge.
        show_labels: true,
        labels_outside: true,
        label_line: true,
        label_type: 'key_percent',
        show_labels_threshold: 2,
        show_legend: false,
        number_format: def.format ?? 'SMART_NUMBER',
        outerRadius: 55,
        innerRadius: 30,
      };
      const q = query({ columns: [def.groupby], metrics: [def.metric], orderby: [[def.metric, false]], rowLimit: 100 });
      return { vizType: 'pie', params, queryContext: context(params, [q]) };
    }
    case 'table': {
      const params = {
        ...common('table', where),
        query_mode: 'raw',
        all_columns: def.columns,
        order_by_cols: def.orderBy.map(([column, direction]) => JSON.stringify([column, direction === 'asc'])),
        row_limit: def.rowLimit ?? 100,
        server_pagination: false,
        table_timestamp_format: def.timestampFormat ?? 'smart_date',
        show_cell_bars: false,
        include_search: false,
        allow_render_html: false,
        column_config: Object.fromEntries(
          Object.entries(def.formats ?? {}).map(([column, format]) => [column, { d3NumberFormat: format }]),
        ),
      };
      const q = query({
        columns: def.columns,
        orderby: def.orderBy.map(([column, direction]) => [column, direction === 'asc']),
        rowLimit: def.rowLimit ?? 100,
      });
      return { vizType: 'table', params, queryContext: context(params, [q]) };
    }
    case 'table_agg': {
      const order = def.orderBy ?? [def.metrics[0]!, 'desc'];
      const params = {
        ...common('table', where),
        query_mode: 'aggregate',
        groupby: def.groupby,
        metrics: def.metrics,
        timeseries_limit_metric: order[0],
        order_desc: order[1] === 'desc',
        row_limit: def.rowLimit ?? 100,
        server_pagination: false,
        table_timestamp_format: 'smart_date',
        show_cell_bars: true,
        include_search: false,
        allow_render_html: false,
      };
      const q = query({
        columns: def.groupby,
        metrics: def.metrics,
        orderby: [[order[0], order[1] === 'asc']],
        rowLimit: def.rowLimit ?? 100,
      });
      return { vizType: 'table', params, queryContext: context(params, [q]) };
    }
    case 'heatmap': {
      const params = {
        ...common('heatmap_v2', where),
        x_axis: def.x,
        groupby: def.y,
        metric: def.metric,
        linear_color_scheme: def.scheme ?? 'blue_white_yellow',
        normalize_across: def.normalizeAcross ?? 'heatmap',
        show_values: def.showValues ?? true,
        show_legend: true,
        show_percentage: false,
        value_bounds: [null, null],
        y_axis_format: def.format ?? 'SMART_NUMBER',
        x_axis_time_format: 'smart_date',
        sort_x_axis: 'alpha_asc',
        sort_y_axis: 'alpha_desc', // ECharts draws the first category at the bottom: this puts Mon / the oldest cohort on top
        // Numbers, not 'auto': the chart passes them to ECharts' grid, which clips long labels on 'auto'.
        left_margin: 10,
        bottom_margin: 10,
        xscale_interval: -1,
        yscale_interval: -1,
        row_limit: 10000,
      };
      const q = query({ columns: [baseAxis({ column: def.x }), def.y], metrics: [def.metric], rowLimit: 10000 });
      return { vizType: 'heatmap_v2', params, queryContext: context(params, [q]) };
    }
  }
}
