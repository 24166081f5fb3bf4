/** A job as its resource shows it, and as the worker answers it. */
import { redactUrl } from '../core/logger';
import { formatApiTime } from '../storage/package-record';
import type { JobView } from './fetch-contract';
import type { Job } from './job-records';

export function jobView(job: Job): JobView {
  const times: Record<string, string> = {};
  for (const [name, iso] of Object.entries({ created: job.created, updated: job.updated, started: job.started, finished: job.finished })) {
    if (iso) times[name] = formatApiTime(iso);
  }
  return {
    job_id: job.jobId,
    state: job.state,
    ...(job.state === 'succeeded' && job.result ? { package: job.result } : {}),
    ...(job.state === 'failed' && job.error ? { error: job.error } : {}),
    ...(job.event.package_url ? { package_url: redactUrl(job.event.package_url) } : {}),
    attempts: job.attempts,
    bytes_received: job.bytesReceived,
    ...(job.bytesExpected === undefined ? {} : { bytes_expected: job.bytesExpected }),
    ...times,
  };
}
