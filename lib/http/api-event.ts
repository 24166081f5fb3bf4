/**
 * Adapts what reaches the API functions (`link`, `packages`) — an API Gateway REST (payload 1.0)
 * event, an HTTP API (payload 2.0) event, or a console test event with a raw-text body — to one
 * plain request.
 */
import { MethodNotAllowedError, ValidationError } from '../core/errors';

export interface ApiRequest {
  requestId: string;
  /** This Lambda invocation's id: unique even when a console test event is sent twice. */
  invocationId: string;
  /** Upper-case HTTP method; empty when the event names none (a console test event built by hand). */
  method: string;
  /**
   * Header names lower-cased. REST events carry both maps: `headers` (the last value of a
   * repeated header, which is also what the authorizer sees) wins over `multiValueHeaders`.
   */
  headers: Record<string, string>;
  body: Buffer;
  pathParameters: Record<string, string>;
  /** Query string parameters; a repeated name keeps API Gateway's single value for it. */
  query: Record<string, string>;
  /** The path as the client sent it, with the stage or base path where API Gateway gives it. */
  path: string;
  /** The authorizer's context: REST puts it at requestContext.authorizer, HTTP API under `.lambda`. */
  authorizer: unknown;
  /**
   * `https://host` as the client reached the API (behind a custom domain, its name), for the
   * absolute URLs an answer gives; empty when the event names no host (a console test event).
   */
  origin: string;
}

export interface ApiEventLike {
  version?: unknown;
  httpMethod?: unknown;
  queryStringParameters?: unknown;
  headers?: unknown;
  multiValueHeaders?: unknown;
  body?: unknown;
  isBase64Encoded?: unknown;
  pathParameters?: unknown;
  path?: unknown;
  rawPath?: unknown;
  requestContext?: unknown;
}

// Used when the event carries no path parameters (a console test event built by hand).
const LINK_PATH = /\/bkapps\/applications\/([^/]+)\/modules\/([^/]+)\/source_package\/link\/?$/;
// The read routes: a module's packages, or one version (`link` above is never a version here).
const PACKAGES_PATH = /\/bkapps\/applications\/([^/]+)\/modules\/([^/]+)\/source_package(?:\/([^/]+))?\/?$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function lowerCaseHeaders(event: ApiEventLike): Record<string, string> {
  const headers: Record<string, string> = {};
  if (isRecord(event.multiValueHeaders)) {
    for (const [name, values] of Object.entries(event.multiValueHeaders)) {
      if (Array.isArray(values)) headers[name.toLowerCase()] = values.map(String).join(', ');
    }
  }
  if (isRecord(event.headers)) {
    for (const [name, value] of Object.entries(event.headers)) {
      if (typeof value === 'string') headers[name.toLowerCase()] = value;
    }
  }
  return headers;
}

function decodeBody(event: ApiEventLike): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  if (typeof event.body !== 'string') {
    // A console test event may hold the form as a JSON object instead of a string.
    if (isRecord(event.body)) return Buffer.from(JSON.stringify(event.body), 'utf8');
    throw new ValidationError('The request body must be a string.');
  }
  if (event.isBase64Encoded === true) {
    if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(event.body)) {
      throw new ValidationError('The request body is marked base64 but is not valid base64.');
    }
    return Buffer.from(event.body, 'base64');
  }
  return Buffer.from(event.body, 'utf8');
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) if (typeof item === 'string') out[key] = item;
  }
  return out;
}

function pathParametersOf(event: ApiEventLike): Record<string, string> {
  const params = stringRecord(event.pathParameters);
  if (params.code !== undefined && params.module_name !== undefined) return params;
  const path = typeof event.rawPath === 'string' ? event.rawPath : typeof event.path === 'string' ? event.path : '';
  const match = LINK_PATH.exec(path);
  if (match?.[1] !== undefined && match[2] !== undefined) {
    return { ...params, code: safeDecode(match[1]), module_name: safeDecode(match[2]) };
  }
  const read = PACKAGES_PATH.exec(path);
  if (read?.[1] !== undefined && read[2] !== undefined) {
    return {
      ...params,
      code: safeDecode(read[1]),
      module_name: safeDecode(read[2]),
      ...(read[3] === undefined ? {} : { version: safeDecode(read[3]) }),
    };
  }
  return params;
}

function methodOf(event: ApiEventLike, context: Record<string, unknown>): string {
  if (typeof event.httpMethod === 'string') return event.httpMethod.toUpperCase();
  const http = context.http;
  return isRecord(http) && typeof http.method === 'string' ? http.method.toUpperCase() : '';
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function firstString(...values: unknown[]): string | undefined {
  return values.find((value): value is string => typeof value === 'string' && value !== '');
}

function authorizerOf(context: Record<string, unknown>): unknown {
  const authorizer = context.authorizer;
  if (!isRecord(authorizer)) return undefined;
  return isRecord(authorizer.lambda) ? authorizer.lambda : authorizer;
}

export function adaptApiEvent(event: ApiEventLike, fallbackRequestId: string): ApiRequest {
  const context = isRecord(event.requestContext) ? event.requestContext : {};
  const requestId = typeof context.requestId === 'string' && context.requestId ? context.requestId : fallbackRequestId;
  return {
    requestId,
    invocationId: fallbackRequestId,
    method: methodOf(event, context),
    headers: lowerCaseHeaders(event),
    body: decodeBody(event),
    pathParameters: pathParametersOf(event),
    query: stringRecord(event.queryStringParameters),
    authorizer: authorizerOf(context),
    path: firstString(context.path, event.path, event.rawPath) ?? '',
    origin: originOf(lowerCaseHeaders(event), context),
  };
}

/** API Gateway passes the scheme in X-Forwarded-Proto and the name in Host (HTTP API: domainName). */
function originOf(headers: Record<string, string>, context: Record<string, unknown>): string {
  const host = firstString(headers.host, context.domainName);
  if (host === undefined || !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(host)) return '';
  const scheme = headers['x-forwarded-proto']?.split(',')[0]?.trim().toLowerCase() === 'http' ? 'http' : 'https';
  return `${scheme}://${host}`;
}

/**
 * Refuses a method the route does not serve (405, with Allow). A console event without a method
 * names none and passes: it can only mean the route's own.
 */
export function assertMethod(request: Pick<ApiRequest, 'method'>, allowed: readonly string[]): void {
  if (request.method !== '' && !allowed.includes(request.method)) throw new MethodNotAllowedError(request.method, allowed);
}
