/**
 * The DynamoDB and S3 emulators for one test file, with a table and bucket of its own, and the
 * checks of DESIGN §3's invariants over what they hold.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { loadConfig, type Config } from '../../lib/config';
import { ensureResources, localClients, startEmulators, type Emulators } from '../../scripts/local-emulators';
import { jobsTableSpec, tokensTableSpec, versionsTableSpec } from '../../scripts/local-tables';
import { sha256Of } from './archives';
import { multipartUploadsInProgress, objectBytes, objectKeysOf, recordsOf, type StorageView, type StoredRecord } from './storage-reads';

export { multipartUploadsInProgress, objectBytes, objectKeysOf, recordsOf, type StorageView, type StoredRecord };

export interface TestStorage extends StorageView {
  emulators: Emulators;
  config(overrides?: Record<string, string>): Config;
  close(): Promise<void>;
}

export async function startTestStorage(): Promise<TestStorage> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-test-'));
  const emulators = await startEmulators({ dataDir, dynamodbPort: 0, s3Port: 0 });
  const suffix = randomUUID().slice(0, 8);
  const table = `test-versions-${suffix}`;
  const bucket = `test-packages-${suffix}`;
  const tokensTable = `test-tokens-${suffix}`;
  const jobsTable = `test-jobs-${suffix}`;
  await ensureResources({
    ...emulators,
    tables: [versionsTableSpec(table), tokensTableSpec(tokensTable), jobsTableSpec(jobsTable)],
    bucket,
  });
  const { s3, dynamodb } = localClients(emulators);
  return {
    emulators,
    s3,
    dynamodb,
    table,
    tokensTable,
    jobsTable,
    bucket,
    config: (overrides = {}) =>
      loadConfig({
        STAGE: 'local',
        ALLOW_PRIVATE_URLS: 'true',
        VERSIONS_TABLE: table,
        TOKENS_TABLE: tokensTable,
        JOBS_TABLE: jobsTable,
        PACKAGES_BUCKET: bucket,
        FETCH_FUNCTION_NAME: 'unused',
        DYNAMODB_ENDPOINT: emulators.dynamodbEndpoint,
        S3_ENDPOINT: emulators.s3Endpoint,
        // The smallest part S3 allows, so that a few MiB already take the multipart path.
        UPLOAD_PART_BYTES: String(5 * 1024 * 1024),
        LOG_LEVEL: 'error',
        ...overrides,
      }),
    async close() {
      s3.destroy();
      dynamodb.destroy();
      await emulators.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * DESIGN §3 for one module: every record's object exists and matches its size and SHA-256
 * (2), every object has a record pointing to it (3), no multipart upload is left (3).
 * Returns the records for further checks.
 */
export async function expectInvariants(storage: StorageView, code: string, module: string): Promise<StoredRecord[]> {
  const records = await recordsOf(storage, code, module);
  const keys = await objectKeysOf(storage, code, module);
  expect(keys).toEqual(records.map((record) => record.object_key).sort());
  for (const record of records) {
    const bytes = await objectBytes(storage, record.object_key);
    expect(bytes.length).toBe(record.package_size);
    expect(sha256Of(bytes)).toBe(record.sha256);
  }
  expect(await multipartUploadsInProgress(storage)).toBe(0);
  return records;
}
