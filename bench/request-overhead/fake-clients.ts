/**
 * Stand-ins for the two clients `link` calls, so the request-overhead benchmark times link's own
 * work (event adaptation, multipart parsing, validation, the auth verdict, the answer) and not
 * the network. They are fakes, not the emulators: a real GetItem against dynalite or an invoke
 * through the local Lambda service costs milliseconds and would measure those programs instead, and the
 * worker's own cost is part 1's subject. Each answers as the real service would on the happy path.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { jobToItem } from '../../lib/jobs/job-records';

interface SentCommand {
  constructor: { name: string };
  input: { TableName?: string; Key?: { job_id?: { S?: string } } };
}

/**
 * GetItem on the versions table finds nothing (a new version); on the tokens table, a valid
 * token; on the jobs table, the job already succeeded (the worker's run is part 1's subject,
 * so link's first read of the job finds it ended). Writes succeed.
 */
export function fakeDynamoDb(tables: { tokens: string; jobs: string }, version: string): DynamoDBClient {
  const tokenItem = {
    token_sha256: { S: 'bench' },
    token_id: { S: 'tok_bench' },
    principal: { S: 'bench' },
    apps: { L: [{ S: '*' }] },
    created: { S: '2026-01-01T00:00:00.000Z' },
    revoked: { BOOL: false },
  };
  const result = {
    version,
    package_name: 'app-1.0.tar.gz',
    package_size: '4586',
    sha256_signature: 'a'.repeat(64),
    updated: '2026-01-01 00:00:00',
    created: '2026-01-01 00:00:00',
  };
  // Through the table's own mapping, so the fake cannot drift from what the jobs table holds.
  const jobItem = (jobId: string) =>
    jobToItem(
      {
        jobId,
        state: 'succeeded',
        event: { job_id: jobId, request_id: jobId, code: 'bench', module: 'default', package_url: 'https://example.com/app-1.0.tar.gz', version, allow_overwrite: false },
        fingerprint: 'bench',
        attempts: 1,
        leaseOwner: undefined,
        leaseExpires: undefined,
        result,
        error: undefined,
        created: '2026-01-01T00:00:00.000Z',
        updated: '2026-01-01T00:00:00.000Z',
        started: '2026-01-01T00:00:00.000Z',
        finished: '2026-01-01T00:00:00.000Z',
        bytesReceived: 4586,
        bytesExpected: 4586,
        resolvedVersion: undefined,
      },
      0,
    );
  const fake = {
    send: (command: SentCommand) => {
      const { TableName, Key } = command.input;
      if (TableName === tables.tokens) return Promise.resolve({ Item: tokenItem });
      if (TableName === tables.jobs && command.constructor.name === 'GetItemCommand') return Promise.resolve({ Item: jobItem(Key?.job_id?.S ?? 'bench') });
      return Promise.resolve({});
    },
  };
  return fake as unknown as DynamoDBClient;
}

/** Every asynchronous invoke is accepted at once, as Lambda accepts an event. */
export function fakeLambda(): LambdaClient {
  const fake = { send: () => Promise.resolve({ StatusCode: 202 }) };
  return fake as unknown as LambdaClient;
}
