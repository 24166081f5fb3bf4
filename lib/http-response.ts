/**
 * The one place that shapes HTTP answers. Client errors carry their code and detail; anything
 * unexpected becomes a generic 500 whose cause goes only to the log.
 */
import { ServiceError, severityOf } from './errors';
import type { Logger } from './logger';

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function jsonResponse(statusCode: number, body: unknown): HttpResponse {
  return { statusCode, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

export function errorResponse(error: unknown, log: Logger): HttpResponse {
  if (error instanceof ServiceError) {
    log[severityOf(error)]('request failed', { code: error.code, status: error.status, error });
    const body = {
      code: error.code,
      detail: error.detail,
      ...(error.fieldsDetail ? { fields_detail: error.fieldsDetail } : {}),
    };
    return { ...jsonResponse(error.status, body), headers: { ...JSON_HEADERS, 'bkapi-error-code': error.code } };
  }
  log.error('unexpected failure', { error });
  return {
    ...jsonResponse(500, { code: 'INTERNAL_ERROR', detail: 'An unexpected error occurred; it has been logged.' }),
    headers: { ...JSON_HEADERS, 'bkapi-error-code': 'INTERNAL_ERROR' },
  };
}
