/**
 * IAM from the packaged template, enforced on every call the functions make to the emulators:
 * each function's clients are signed as its role, and what the role does not grant is refused
 * with the error AWS gives. The last cases take one permission out of a copy of the template and
 * watch the flow that needs it fail, so the enforcement itself is shown to be able to fail.
 */
import { DeleteItemCommand, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createFetchHandler } from '../../../handlers/fetch';
import { createLinkHandler } from '../../../handlers/link';
import { ALL_APPS, createToken } from '../../../lib/auth/token-store';
import type { Json, JsonObject } from '../../../scripts/local-aws/template';
import { useWorkerRig } from '../../helpers/worker-rig';
import { sampleEntries, tarGzArchive } from '../../helpers/archives';
import { inProcessLambda } from '../../helpers/in-process-lambda';
import { expectInvariants, localTemplate, startTestStorage } from '../../helpers/storage';

const rig = useWorkerRig();


describe('each function runs under its own role', () => {
  it("refuses link a write to the versions table with DynamoDB's AccessDeniedException", async () => {
    const { dynamodb } = rig.storage.clientsOf('link');

    await expect(
      dynamodb.send(new DeleteItemCommand({ TableName: rig.storage.table, Key: { module_key: { S: 'a/b' }, version: { S: 'v1' } } })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('dynamodb:DeleteItem') });
  });

  it('lets link read the versions table it checks for the fast 409', async () => {
    const { dynamodb } = rig.storage.clientsOf('link');

    await expect(
      dynamodb.send(new GetItemCommand({ TableName: rig.storage.table, Key: { module_key: { S: 'a/b' }, version: { S: 'v1' } } })),
    ).resolves.toBeDefined();
  });

  it("refuses the authorizer anything but reading tokens, and S3 writes outside packages/ to fetch, with S3's AccessDenied", async () => {
    await expect(
      rig.storage.clientsOf('authorize').dynamodb.send(new QueryCommand({ TableName: rig.storage.table, KeyConditionExpression: 'module_key = :k', ExpressionAttributeValues: { ':k': { S: 'a/b' } } })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(
      rig.storage.clientsOf('fetch').s3.send(new PutObjectCommand({ Bucket: rig.storage.bucket, Key: 'elsewhere/x', Body: 'x' })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('lets packages read objects under packages/, and no function read the token digests with a scan', async () => {
    const key = `packages/iam/default/v1/${randomUUID()}`;
    await rig.storage.s3.send(new PutObjectCommand({ Bucket: rig.storage.bucket, Key: key, Body: 'bytes' }));

    const object = await rig.storage.clientsOf('packages').s3.send(new GetObjectCommand({ Bucket: rig.storage.bucket, Key: key }));

    expect(await object.Body?.transformToString()).toBe('bytes');
    expect(rig.storage.denials.some((line) => line.includes('s3:GetObject'))).toBe(false);
  });
});

/** Removes `action` from every statement of `role` in a copy of the template's JSON. */
function withoutPermission(role: string, action: string): (template: JsonObject) => void {
  return (template) => {
    const resources = template.Resources as Record<string, JsonObject>;
    const policies = ((resources[role]?.Properties as JsonObject).Policies ?? []) as JsonObject[];
    let removed = 0;
    for (const policy of policies) {
      for (const statement of (policy.PolicyDocument as JsonObject).Statement as JsonObject[]) {
        const actions = ([] as Json[]).concat(statement.Action ?? []);
        const kept = actions.filter((candidate) => candidate !== action);
        removed += actions.length - kept.length;
        statement.Action = kept;
      }
    }
    if (removed === 0) throw new Error(`${role} does not grant ${action}`);
  };
}

describe('a template missing one permission', () => {
  // With the real template the same flow answers 200 (test/integration/jobs/job-faults.test.ts).
  it('refuses the rerun of a key whose first attempt failed 502, with AccessDenied, when link cannot delete job records', async () => {
    const crippled = await startTestStorage({ template: localTemplate(withoutPermission('LinkRole', 'dynamodb:DeleteItem')) });
    try {
      const token = (await createToken(crippled.dynamodb, crippled.tokensTable, { principal: 'iam', apps: [ALL_APPS] })).token;
      const code = `iam-${randomUUID().slice(0, 8)}`;
      const archive = await tarGzArchive(sampleEntries(code));
      let hits = 0;
      rig.server.route(`/${code}/a.tar.gz`, (req, res) => {
        hits += 1;
        res.writeHead(200, { 'content-length': archive.length });
        if (hits === 1) {
          res.write(archive.subarray(0, 10));
          setTimeout(() => req.socket.destroy(), 50);
        } else res.end(archive);
      });
      const config = crippled.config();
      const worker = createFetchHandler({ config, ...crippled.clientsOf('fetch'), now: () => new Date() });
      const lambda = inProcessLambda(worker, { authorize: crippled.invokeCheck('link') });
      const link = createLinkHandler({ config, dynamodb: crippled.clientsOf('link').dynamodb, lambda: lambda.client, now: () => new Date() });
      const request = {
        headers: { 'x-bkapi-authorization': JSON.stringify({ access_token: token }), 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ package_url: rig.server.url(`/${code}/a.tar.gz`), version: 'v1' }),
        pathParameters: { code, module_name: 'default' },
      };
      const context = () => ({ awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 28_000 });

      const reset = await link(request, context());
      const retried = await link(request, context());

      expect(reset.statusCode).toBe(502);
      expect(retried.statusCode).toBe(503);
      expect(crippled.denials.join('\n')).toMatch(/denied dynamodb:DeleteItem on arn:aws:dynamodb:us-east-1:000000000000:table\/bkpaas-source-package-link-local-jobs/);
      expect(await expectInvariants(crippled, code, 'default')).toEqual([]);
    } finally {
      await crippled.close();
    }
  });

  it('makes the worker fail with STORAGE_UNAVAILABLE and store nothing when fetch cannot abort uploads or write objects', async () => {
    const crippled = await startTestStorage({ template: localTemplate(withoutPermission('FetchRole', 's3:PutObject')) });
    try {
      const code = `iam-${randomUUID().slice(0, 8)}`;
      rig.server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
      const worker = createFetchHandler({ config: crippled.config(), ...crippled.clientsOf('fetch'), now: () => new Date() });

      const result = await worker(
        { request_id: randomUUID(), code, module: 'default', version: 'v1', allow_overwrite: false, package_url: rig.server.url(`/${code}/a.tar.gz`) },
        { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 },
      );

      expect(result).toMatchObject({ state: 'failed', error: { code: 'STORAGE_UNAVAILABLE' } });
      expect(crippled.denials.join('\n')).toContain('denied s3:PutObject');
      expect(await expectInvariants(crippled, code, 'default')).toEqual([]);
    } finally {
      await crippled.close();
    }
  });
});
