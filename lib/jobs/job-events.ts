/**
 * What the worker announces when a job ends: one EventBridge event, `Source Package Registered`
 * or `Source Package Job Failed`, whose detail is documented (with its JSON schema,
 * docs/events/) in docs/api.md#events. Field names are the contract's: the six fields of the link
 * answer, `code` and `module_name` as the path names them, the job's id, and `finished_at`, the
 * instant the job's record was ended: one job may end more than once (a failed job re-sent under
 * its key, or redriven), so (`job_id`, `finished_at`) names one end, and a repeat of it.
 */
import { ERROR_STATUS } from '../core/errors';
import type { PackageRequest } from '../core/package-request';
import type { JobError } from './fetch-contract';
import { toPackageResponse, type PackageRecord, type PackageResponse } from '../storage/package-record';

export const EVENT_SOURCE = 'bkpaas.source-package';

export const DETAIL_TYPE = {
  registered: 'Source Package Registered',
  failed: 'Source Package Job Failed',
} as const;

/** What the record keeps of the package's app description; `null` without one. */
export interface AppDescriptionSummary {
  spec_version: 1 | 2 | 3 | null;
  app_code: string | null;
  app_version: string | null;
}

interface JobFields {
  job_id: string;
  code: string;
  module_name: string;
  /** ISO 8601 with milliseconds, UTC: the record's `finished`. */
  finished_at: string;
}

export interface RegisteredDetail extends JobFields, PackageResponse {
  app_description: AppDescriptionSummary | null;
}

export interface FailedDetail extends JobFields {
  /** The version the request named; `null` when it left it to the package. */
  version: string | null;
  error: { code: JobError['code']; status: number; detail: string };
}

export type JobEndEvent =
  | { detailType: typeof DETAIL_TYPE.registered; detail: RegisteredDetail }
  | { detailType: typeof DETAIL_TYPE.failed; detail: FailedDetail };

function jobFields(request: PackageRequest, finishedAt: string): JobFields {
  return { job_id: request.jobId, code: request.code, module_name: request.module, finished_at: finishedAt };
}

export function registeredEvent(request: PackageRequest, record: PackageRecord, finishedAt: string): JobEndEvent {
  const description = record.appDescription;
  return {
    detailType: DETAIL_TYPE.registered,
    detail: {
      ...jobFields(request, finishedAt),
      ...toPackageResponse(record),
      app_description: description
        ? { spec_version: description.specVersion ?? null, app_code: description.appCode ?? null, app_version: description.appVersion ?? null }
        : null,
    },
  };
}

export function failedEvent(request: PackageRequest, error: JobError, finishedAt: string): JobEndEvent {
  return {
    detailType: DETAIL_TYPE.failed,
    detail: { ...jobFields(request, finishedAt), version: request.version ?? null, error: { code: error.code, status: ERROR_STATUS[error.code], detail: error.detail } },
  };
}
