/**
 * The jobs table's mapping: a job goes to its item and back unchanged, and an item a job cannot
 * be read from is refused loudly instead of becoming a plausible pending job.
 */
import { describe, expect, it } from 'vitest';
import { MalformedItemError, toAttributes } from '../../../lib/core/dynamodb-calls';
import { jobFromItem, jobToItem, type Job } from '../../../lib/jobs/job-records';

const JOB: Job = {
  jobId: 'job-1',
  state: 'running',
  event: { request_id: 'job-1', code: 'app', module: 'default', package_url: 'https://example.com/a.tgz', allow_overwrite: false },
  fingerprint: 'f',
  attempts: 2,
  leaseOwner: 'run-1',
  leaseExpires: 1_700_000_000_000,
  result: undefined,
  error: undefined,
  created: '2026-01-01T00:00:00.000Z',
  updated: '2026-01-01T00:00:01.000Z',
  started: '2026-01-01T00:00:00.500Z',
  finished: undefined,
  bytesReceived: 10,
  bytesExpected: 20,
  resolvedVersion: undefined,
};

describe('the jobs table mapping', () => {
  it('reads back the job it wrote', () => {
    expect(jobFromItem(jobToItem(JOB, 1))).toEqual(JOB);
  });

  it('refuses an item without a state rather than calling it pending', () => {
    const { state: _state, ...item } = jobToItem(JOB, 1);
    expect(() => jobFromItem(item)).toThrow(MalformedItemError);
  });

  it('refuses an item whose attempts are not a number, or whose state is not a job state', () => {
    expect(() => jobFromItem({ ...jobToItem(JOB, 1), ...toAttributes({ attempts: 'two' }) })).toThrow(/attempts is not a number/);
    expect(() => jobFromItem({ ...jobToItem(JOB, 1), ...toAttributes({ state: 'paused' }) })).toThrow(/not a job state/);
  });

  it('refuses an item whose event is not JSON', () => {
    expect(() => jobFromItem({ ...jobToItem(JOB, 1), ...toAttributes({ event: '{' }) })).toThrow(/event is not JSON/);
  });
});
