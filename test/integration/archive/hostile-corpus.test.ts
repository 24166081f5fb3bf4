/**
 * Every file of the hostile-archive corpus (test/fixtures/hostile-corpus, made by its
 * generate.ts) through the real worker — served by a real HTTP server on 127.0.0.1, streamed into
 * the S3 emulator, recorded in the DynamoDB emulator — gets the verdict its manifest gives. A
 * refusal is 422 INVALID_PACKAGE_FORMAT with its reason and leaves no object, upload or record.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFetchHandler } from '../../../handlers/fetch';
import type { CorpusCase } from '../../fixtures/hostile-corpus/generate';
import { sha256Of } from '../../helpers/archives';
import { expectInvariants } from '../../helpers/storage';
import { useWorkerRig } from '../../helpers/worker-rig';

const corpus = path.join(__dirname, '../../fixtures/hostile-corpus');
const manifest = JSON.parse(readFileSync(path.join(corpus, 'manifest.json'), 'utf8')) as CorpusCase[];

const rig = useWorkerRig();

describe('the hostile-archive corpus through the worker', () => {
  it('has both verdicts and a reason for every refusal', () => {
    expect(manifest.filter((entry) => entry.verdict === 'accepted').length).toBeGreaterThan(3);
    expect(manifest.filter((entry) => entry.verdict === 'refused').length).toBeGreaterThan(20);
    for (const entry of manifest) if (entry.verdict === 'refused') expect(entry.detail).toBeTruthy();
  });

  it.each(manifest.map((entry) => [entry.file, entry] as const))('%s', async (file, entry) => {
    // Prepare
    const code = `corpus-${randomUUID().slice(0, 8)}`;
    const bytes = readFileSync(path.join(corpus, 'files', file));
    const { storage, server } = rig;
    server.serve(`/${code}/${file}`, bytes);
    const handler = createFetchHandler({ config: storage.config(), s3: storage.s3, dynamodb: storage.dynamodb, now: () => new Date() });

    // Act
    const result = await handler(
      { request_id: randomUUID(), code, module: 'default', version: 'v1', allow_overwrite: false, package_url: server.url(`/${code}/${file}`) },
      { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 },
    );

    // Assess
    const records = await expectInvariants(storage, code, 'default');
    if (entry.verdict === 'accepted') {
      expect(result).toMatchObject({ state: 'succeeded', package: { package_name: file, sha256_signature: sha256Of(bytes) } });
      expect(records).toHaveLength(1);
    } else {
      expect(result).toMatchObject({
        state: 'failed',
        error: { code: 'INVALID_PACKAGE_FORMAT', detail: expect.stringContaining(entry.detail ?? '') },
      });
      expect(records).toEqual([]);
    }
  });
});
