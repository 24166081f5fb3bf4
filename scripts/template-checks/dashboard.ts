/**
 * The dashboard body checked as CloudWatch's PutDashboard checks it (the dashboard body structure:
 * widgets with a known type, a position and size on the 24-column grid, a metric widget's region
 * and `metrics`, each entry an array — a metric `[namespace, name, dimension, value, …, options?]`
 * or one expression object `[{expression, id}]` — option keys PutDashboard knows, statistics it
 * knows, and expression ids that start lower case and are unique in their widget), and the
 * metrics the dashboard and the alarms name checked against the metrics there are: those the code
 * emits (read from the embedded-metric-format lines of a run) and those AWS vends for the
 * template's functions, API and queue. A graph of a metric no one emits stays empty forever; an
 * alarm on one never fires.
 */
import type { ResolvedTemplate } from '../local-aws/template';
import { isObject, type Json, type JsonObject } from './resource-spec';

/** A metric as CloudWatch stores it: namespace, name and the full dimension set, with values. */
export interface MetricIdentity {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
}

const WIDGET_TYPES = new Set(['metric', 'text', 'log', 'alarm', 'explorer', 'custom']);
const VIEWS = new Set(['timeSeries', 'singleValue', 'gauge', 'bar', 'pie', 'table']);
const RENDER_OPTIONS = new Set(['accountId', 'color', 'label', 'period', 'region', 'stat', 'visible', 'yAxis', 'id']);
const EXPRESSION_OPTIONS = new Set(['expression', 'id', 'label', 'color', 'period', 'visible', 'yAxis', 'region', 'accountId']);
const STATISTIC = /^(SampleCount|Average|Sum|Minimum|Maximum|IQM|p\d{1,2}(\.\d+)?|(tm|wm|tc|ts|TM|WM|TC|TS)\d{1,2}(\.\d+)?|(TM|WM|TC|TS|PR)\(.+\))$/;
const EXPRESSION_ID = /^[a-z][a-zA-Z0-9_]*$/;

function validPeriod(value: Json | undefined): boolean {
  return typeof value === 'number' && Number.isInteger(value) && (value % 60 === 0 ? value > 0 : [1, 5, 10, 30].includes(value));
}

/** What PutDashboard answers `InvalidParameterInput` for, one line each. */
export function checkDashboardBody(body: string): string[] {
  const problems: string[] = [];
  let parsed: Json;
  try {
    parsed = JSON.parse(body) as Json;
  } catch (error) {
    return [`the body is not JSON: ${(error as Error).message}`];
  }
  if (!isObject(parsed) || !Array.isArray(parsed.widgets)) return ['the body must be an object with a widgets array'];
  parsed.widgets.forEach((widget, index) => {
    const where = `widgets[${index}]`;
    if (!isObject(widget)) return void problems.push(`${where}: a widget is an object`);
    if (!WIDGET_TYPES.has(String(widget.type))) problems.push(`${where}.type: ${JSON.stringify(widget.type)} is not a widget type`);
    for (const [key, low, high] of [['x', 0, 23], ['y', 0, Infinity], ['width', 1, 24], ['height', 1, 1000]] as const) {
      const value = widget[key];
      if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < low || value > high)) problems.push(`${where}.${key}: ${JSON.stringify(value)} is not a whole number from ${low} to ${high}`);
    }
    if (typeof widget.x === 'number' && typeof widget.width === 'number' && widget.x + widget.width > 24) problems.push(`${where}: x + width passes the 24 columns`);
    const properties = widget.properties;
    if (!isObject(properties)) return void problems.push(`${where}.properties: required`);
    if (widget.type === 'metric') problems.push(...checkMetricWidget(properties, `${where}.properties`));
  });
  return problems;
}

function checkMetricWidget(properties: JsonObject, where: string): string[] {
  const problems: string[] = [];
  if (typeof properties.region !== 'string' || properties.region === '') problems.push(`${where}.region: required`);
  if (properties.view !== undefined && !VIEWS.has(String(properties.view))) problems.push(`${where}.view: ${JSON.stringify(properties.view)} is not a view`);
  if (properties.period !== undefined && !validPeriod(properties.period)) problems.push(`${where}.period: ${JSON.stringify(properties.period)} is not 1, 5, 10, 30 or a multiple of 60`);
  if (properties.stat !== undefined && !STATISTIC.test(String(properties.stat))) problems.push(`${where}.stat: ${JSON.stringify(properties.stat)} is not a statistic`);
  if (!Array.isArray(properties.metrics)) return [...problems, `${where}.metrics: required, a list`];
  const ids = new Set<string>();
  properties.metrics.forEach((entry, index) => {
    const at = `${where}.metrics[${index}]`;
    if (!Array.isArray(entry)) return void problems.push(`${at}: each metrics entry must be an array (a metric, or [{"expression": …, "id": …}]), not ${JSON.stringify(entry).slice(0, 60)}`);
    const last = entry[entry.length - 1];
    const options = isObject(last) ? last : undefined;
    if (options && typeof options.expression === 'string') {
      if (entry.length !== 1) problems.push(`${at}: an expression entry holds the expression object alone`);
      for (const key of Object.keys(options)) if (!EXPRESSION_OPTIONS.has(key)) problems.push(`${at}: unknown expression option ${key}`);
    } else {
      const names = options ? entry.slice(0, -1) : entry;
      if (names.some((part) => typeof part !== 'string')) problems.push(`${at}: a metric is namespace, name and dimension name/value pairs, all strings`);
      const repeated = names.every((part) => part === '.' || part === '...');
      if (!repeated && (names.length < 2 || names.length % 2 !== 0)) problems.push(`${at}: a metric is namespace, name and dimension name/value pairs (${names.length} strings)`);
      for (const key of Object.keys(options ?? {})) if (!RENDER_OPTIONS.has(key)) problems.push(`${at}: unknown rendering option ${key}`);
      if (options?.stat !== undefined && !STATISTIC.test(String(options.stat))) problems.push(`${at}.stat: ${JSON.stringify(options.stat)} is not a statistic`);
    }
    if (options?.period !== undefined && !validPeriod(options.period)) problems.push(`${at}.period: ${JSON.stringify(options.period)} is not 1, 5, 10, 30 or a multiple of 60`);
    if (options?.id !== undefined) {
      const id = String(options.id);
      if (!EXPRESSION_ID.test(id)) problems.push(`${at}.id: "${id}" must start with a lower-case letter and hold only letters, digits and _`);
      if (ids.has(id)) problems.push(`${at}.id: "${id}" is used twice in the widget`);
      ids.add(id);
    }
  });
  return problems;
}

/** A metric the dashboard draws: a named one, or a SEARCH's schema and filters. */
export type DrawnMetric =
  | { kind: 'metric'; where: string; metric: MetricIdentity }
  | { kind: 'search'; where: string; namespace: string; dimensionNames: string[]; filters: Record<string, string> };

/** `SEARCH('{Namespace,Dim,…} MetricName="X" dim="v"', 'Stat', period)`: the schema and the exact filters. */
export function parseSearch(expression: string): { namespace: string; dimensionNames: string[]; filters: Record<string, string> } | undefined {
  const match = /^SEARCH\(\s*'(.*)'\s*,\s*'[^']*'\s*(?:,\s*\d+\s*)?\)$/s.exec(expression.trim());
  if (!match?.[1]) return undefined;
  const query = match[1];
  const schema = /^\s*\{([^}]*)\}/.exec(query);
  if (!schema?.[1]) return undefined;
  const [namespace = '', ...dimensionNames] = schema[1].split(',').map((part) => part.trim().replace(/^"|"$/g, ''));
  const filters: Record<string, string> = {};
  for (const filter of query.slice(schema[0].length).matchAll(/([A-Za-z0-9_]+)\s*=\s*"([^"]*)"/g)) filters[filter[1] ?? ''] = filter[2] ?? '';
  return { namespace, dimensionNames, filters };
}

/** Every metric and SEARCH of the dashboard's metric widgets (entries PutDashboard would refuse are left to checkDashboardBody). */
export function drawnMetrics(body: string): DrawnMetric[] {
  const parsed = JSON.parse(body) as { widgets?: { type?: string; properties?: { metrics?: Json[] } }[] };
  const drawn: DrawnMetric[] = [];
  (parsed.widgets ?? []).forEach((widget, widgetIndex) => {
    if (widget.type !== 'metric') return;
    let previous: string[] = [];
    (widget.properties?.metrics ?? []).forEach((entry, index) => {
      const where = `widgets[${widgetIndex}].metrics[${index}]`;
      if (!Array.isArray(entry)) return;
      const last = entry[entry.length - 1];
      if (isObject(last) && typeof last.expression === 'string') {
        const search = parseSearch(last.expression);
        if (search) drawn.push({ kind: 'search', where, ...search });
        return;
      }
      const names = (isObject(last) ? entry.slice(0, -1) : entry).map(String);
      // "." repeats the previous entry's string at that position.
      const resolved = names.map((part, position) => (part === '.' ? (previous[position] ?? part) : part));
      previous = resolved;
      const [namespace = '', name = '', ...pairs] = resolved;
      const dimensions: Record<string, string> = {};
      for (let at = 0; at + 1 < pairs.length; at += 2) dimensions[pairs[at] ?? ''] = pairs[at + 1] ?? '';
      drawn.push({ kind: 'metric', where, metric: { namespace, name, dimensions } });
    });
  });
  return drawn;
}

/** The metrics embedded-metric-format lines define, each with its full dimension set and values. */
export function emittedMetrics(output: string): MetricIdentity[] {
  const found = new Map<string, MetricIdentity>();
  for (const line of output.split('\n')) {
    const start = line.indexOf('{"_aws"');
    if (start < 0) continue;
    let record: JsonObject;
    try {
      record = JSON.parse(line.slice(start)) as JsonObject;
    } catch {
      continue;
    }
    const aws = record._aws;
    const directives = isObject(aws) && Array.isArray(aws.CloudWatchMetrics) ? aws.CloudWatchMetrics : [];
    for (const directive of directives) {
      if (!isObject(directive)) continue;
      const sets = Array.isArray(directive.Dimensions) ? directive.Dimensions : [[]];
      for (const metric of Array.isArray(directive.Metrics) ? directive.Metrics : []) {
        if (!isObject(metric)) continue;
        for (const set of sets) {
          const dimensions = Object.fromEntries((Array.isArray(set) ? set : []).map((name) => [String(name), String(record[String(name)])]));
          const identity = { namespace: String(directive.Namespace), name: String(metric.Name), dimensions };
          found.set(JSON.stringify([identity.namespace, identity.name, Object.entries(dimensions).sort()]), identity);
        }
      }
    }
  }
  return [...found.values()];
}

/**
 * What AWS publishes for the template's resources, by namespace: each metric with the dimension
 * sets it comes under, a dimension's allowed values listed (AWS/Lambda by FunctionName,
 * AWS/ApiGateway by ApiName and Stage, and by Resource and Method only where detailed metrics are on,
 * AWS/SQS by QueueName).
 */
export interface VendedNamespace {
  metrics: Set<string>;
  dimensionSets: Record<string, string[]>[];
}

function sameNames(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().every((name, index) => name === [...b].sort()[index]);
}

/** Why no metric with this identity exists, or undefined when one does. */
export function unknownMetric(metric: MetricIdentity, emitted: MetricIdentity[], vended: Record<string, VendedNamespace>): string | undefined {
  const described = `${metric.namespace} ${metric.name} {${Object.entries(metric.dimensions).map(([key, value]) => `${key}=${value}`).join(', ')}}`;
  const aws = vended[metric.namespace];
  if (aws) {
    if (!aws.metrics.has(metric.name)) return `${described}: ${metric.namespace} has no metric ${metric.name} this check knows`;
    const fits = aws.dimensionSets.some((set) => sameNames(Object.keys(set), Object.keys(metric.dimensions)) && Object.entries(metric.dimensions).every(([key, value]) => set[key]?.includes(value)));
    return fits ? undefined : `${described}: AWS publishes ${metric.name} under ${aws.dimensionSets.map((set) => `{${Object.entries(set).map(([key, values]) => `${key}=${values.join('|')}`).join(', ')}}`).join(' or ')}`;
  }
  const sameName = emitted.filter((candidate) => candidate.namespace === metric.namespace && candidate.name === metric.name);
  if (sameName.length === 0) return `${described}: the code emits no ${metric.name} in ${metric.namespace}`;
  const exact = sameName.some((candidate) => sameNames(Object.keys(candidate.dimensions), Object.keys(metric.dimensions)) && Object.entries(metric.dimensions).every(([key, value]) => candidate.dimensions[key] === value));
  if (exact) return undefined;
  return `${described}: the code emits ${metric.name} only with {${sameName.map((candidate) => Object.entries(candidate.dimensions).map(([key, value]) => `${key}=${value}`).join(', ')).join('} or {')}}`;
}

export function unknownSearch(search: Extract<DrawnMetric, { kind: 'search' }>, emitted: MetricIdentity[]): string | undefined {
  const { MetricName: name, ...filters } = search.filters;
  const matches = emitted.filter(
    (candidate) =>
      candidate.namespace === search.namespace &&
      (name === undefined || candidate.name === name) &&
      sameNames(Object.keys(candidate.dimensions), search.dimensionNames) &&
      Object.entries(filters).every(([key, value]) => candidate.dimensions[key] === value),
  );
  return matches.length > 0 ? undefined : `SEARCH {${[search.namespace, ...search.dimensionNames].join(',')}} ${JSON.stringify(search.filters)}: no metric the code emits has that dimension set and those values`;
}

/** Every dashboard metric and SEARCH, and every alarm's metric, checked against what exists. */
export function checkMetricsExist(
  drawn: DrawnMetric[],
  alarms: { logicalId: string; metric: MetricIdentity }[],
  emitted: MetricIdentity[],
  vended: Record<string, VendedNamespace>,
): string[] {
  const problems: string[] = [];
  for (const entry of drawn) {
    const reason = entry.kind === 'metric' ? unknownMetric(entry.metric, emitted, vended) : unknownSearch(entry, emitted);
    if (reason) problems.push(`dashboard ${entry.where}: ${reason}`);
  }
  for (const alarm of alarms) {
    const reason = unknownMetric(alarm.metric, emitted, vended);
    if (reason) problems.push(`${alarm.logicalId}: ${reason}`);
  }
  return problems;
}

const LAMBDA_METRICS = ['Invocations', 'Errors', 'Throttles', 'Duration', 'ConcurrentExecutions', 'DeadLetterErrors', 'DestinationDeliveryFailures', 'AsyncEventsReceived', 'AsyncEventAge', 'AsyncEventsDropped'];
const API_GATEWAY_METRICS = ['Count', '4XXError', '5XXError', 'Latency', 'IntegrationLatency', 'CacheHitCount', 'CacheMissCount'];
const SQS_METRICS = [
  'ApproximateNumberOfMessagesVisible', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed', 'ApproximateAgeOfOldestMessage',
  'NumberOfMessagesSent', 'NumberOfMessagesReceived', 'NumberOfMessagesDeleted', 'NumberOfEmptyReceives', 'SentMessageSize',
];

/** The template's dashboards, alarms and what AWS publishes for its resources, resolved in one account and region. */
export function metricsOfTemplate(resolved: ResolvedTemplate): {
  dashboards: { logicalId: string; body: string }[];
  alarms: { logicalId: string; metric: MetricIdentity }[];
  vended: Record<string, VendedNamespace>;
} {
  const functionNames = resolved.ofType('AWS::Lambda::Function').map((fn) => resolved.physicalName(fn.logicalId));
  const queueNames = resolved.ofType('AWS::SQS::Queue').map((queue) => resolved.physicalName(queue.logicalId).split('/').pop() ?? '');
  const apiNames = resolved.ofType('AWS::ApiGateway::RestApi').map((api) => String(api.properties.Name));
  const stages = resolved.ofType('AWS::ApiGateway::Stage');
  const stageNames = stages.map((stage) => String(stage.properties.StageName));
  // Per-route metrics exist only where a method setting turns detailed metrics on.
  const detailed = stages.flatMap((stage) =>
    (Array.isArray(stage.properties.MethodSettings) ? stage.properties.MethodSettings : [])
      .filter((setting): setting is JsonObject => isObject(setting) && setting.MetricsEnabled === true && setting.ResourcePath !== '/*')
      .map((setting) => ({ ApiName: apiNames, Stage: [String(stage.properties.StageName)], Resource: [String(setting.ResourcePath).slice(1).replaceAll('~1', '/')], Method: [String(setting.HttpMethod)] })),
  );
  const vended: Record<string, VendedNamespace> = {
    'AWS/Lambda': { metrics: new Set(LAMBDA_METRICS), dimensionSets: [{ FunctionName: functionNames }] },
    'AWS/ApiGateway': { metrics: new Set(API_GATEWAY_METRICS), dimensionSets: [{ ApiName: apiNames }, { ApiName: apiNames, Stage: stageNames }, ...detailed] },
    'AWS/SQS': { metrics: new Set(SQS_METRICS), dimensionSets: [{ QueueName: queueNames }] },
  };
  const alarms = resolved.ofType('AWS::CloudWatch::Alarm').map((alarm) => {
    const dimensions = Array.isArray(alarm.properties.Dimensions) ? alarm.properties.Dimensions : [];
    return {
      logicalId: alarm.logicalId,
      metric: {
        namespace: String(alarm.properties.Namespace),
        name: String(alarm.properties.MetricName),
        dimensions: Object.fromEntries(dimensions.filter(isObject).map((dimension) => [String(dimension.Name), String(dimension.Value)])),
      },
    };
  });
  const dashboards = resolved.ofType('AWS::CloudWatch::Dashboard').map((dashboard) => ({ logicalId: dashboard.logicalId, body: String(dashboard.properties.DashboardBody) }));
  return { dashboards, alarms, vended };
}
