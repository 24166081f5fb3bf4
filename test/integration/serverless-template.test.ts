/**
 * The CloudFormation template `serverless package --stage stag` produces, offline: the table,
 * the bucket and its lifecycle rule, both functions, and IAM scoped to exactly those resources.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokensTableSpec, versionsTableSpec } from '../../scripts/local-tables';

const root = path.resolve(__dirname, '../..');
const workFolder = `.esbuild-template-${process.pid}`;
let outDir: string;
type Resource = { Type: string; Properties: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- CloudFormation JSON is untyped
let resources: Record<string, Resource>;

beforeAll(async () => {
  outDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-package-'));
  await promisify(execFile)(
    process.execPath,
    [require.resolve('osls/bin/serverless.js'), 'package', '--stage', 'stag', '--package', outDir],
    { cwd: root, env: { ...process.env, ESBUILD_WORK_FOLDER: workFolder }, timeout: 120_000 },
  );
  resources = JSON.parse(readFileSync(path.join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')).Resources;
});

afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
  rmSync(path.join(root, workFolder), { recursive: true, force: true });
});

function resource(name: string): Resource {
  const found = resources[name];
  if (!found) throw new Error(`template has no ${name}`);
  return found;
}

/** The logical ids an IAM statement's resources refer to (through Fn::GetAtt), or '*' literals. */
function referencedResources(statement: { Resource: unknown[] }): string[] {
  return statement.Resource.map((entry) => {
    const text = JSON.stringify(entry);
    if (text === '"*"') return '*';
    return /"Fn::GetAtt":\["([A-Za-z]+)"/.exec(text)?.[1] ?? text;
  });
}

function statementsOf(role: string): { Action: string[]; Resource: unknown[] }[] {
  return resource(role).Properties.Policies.flatMap((policy: { PolicyDocument: { Statement: unknown[] } }) => policy.PolicyDocument.Statement);
}

describe('the packaged CloudFormation template', () => {
  it('has the versions table: on demand, point-in-time recovery, keyed by module and version', () => {
    const table = resource('VersionsTable');
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.Properties).toMatchObject({
      TableName: 'bkpaas-source-package-link-stag-versions',
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [
        { AttributeName: 'module_key', KeyType: 'HASH' },
        { AttributeName: 'version', KeyType: 'RANGE' },
      ],
    });
  });

  it('has the packages bucket: private, encrypted, aborting incomplete multipart uploads after a day', () => {
    const bucket = resource('PackagesBucket');
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(bucket.Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
    );
  });

  it('has both functions on nodejs22.x, each with its own role, and the link route taking multipart as binary', () => {
    const link = resource('LinkLambdaFunction');
    const fetchFunction = resource('FetchLambdaFunction');
    expect(link.Properties).toMatchObject({ Runtime: 'nodejs22.x', Timeout: 29, Role: { 'Fn::GetAtt': ['LinkRole', 'Arn'] } });
    expect(fetchFunction.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      FunctionName: 'bkpaas-source-package-link-stag-fetch',
      Role: { 'Fn::GetAtt': ['FetchRole', 'Arn'] },
    });
    expect(resources.IamRoleLambdaExecution).toBeUndefined();
    expect(resource('ApiGatewayRestApi').Properties.BinaryMediaTypes).toContain('multipart/form-data');
    const methods = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGateway::Method');
    expect(methods.map((m) => m.Properties.HttpMethod).sort()).toEqual(expect.arrayContaining(['GET', 'POST']));
    expect(Object.keys(resources)).toContain('ApiGatewayResourceBkappsApplicationsCodeVarModulesModulenameVarSourcepackageLink');
  });

  it('lets link only read the tables, invoke fetch and write its own logs', () => {
    const statements = statementsOf('LinkRole');
    expect(statements.flatMap(referencedResources).sort()).toEqual(['FetchLambdaFunction', 'JobsTable', 'LinkLogGroup', 'TokensTable', 'VersionsTable']);
    expect(statements.flatMap((s) => s.Action).sort()).toEqual(
      ['dynamodb:GetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'lambda:InvokeFunction', 'logs:CreateLogStream', 'logs:PutLogEvents'].sort(),
    );
    const jobs = statements.find((s) => JSON.stringify(s.Resource).includes('JobsTable'));
    expect(jobs?.Action.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
  });

  it('lets fetch only write objects under packages/ in the bucket, read and write the table, and write its own logs', () => {
    const statements = statementsOf('FetchRole');
    expect(statements.flatMap(referencedResources).sort()).toEqual(['FetchFailuresQueue', 'FetchLogGroup', 'JobsTable', 'PackagesBucket', 'VersionsTable']);
    const s3 = statements.find((s) => s.Action.some((a) => a.startsWith('s3:')));
    expect(s3?.Action.sort()).toEqual(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject']);
    expect(JSON.stringify(s3?.Resource)).toContain('/packages/*');
    expect(statements.flatMap((s) => s.Action)).not.toContain('*');
  });

  it('has the token table keyed by the token digest, with an index by token id', () => {
    const table = resource('TokensTable');
    expect(table.Properties).toMatchObject({
      TableName: 'bkpaas-source-package-link-stag-tokens',
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('declares the same key schemas the local stack creates', () => {
    for (const [logical, spec] of [
      ['VersionsTable', versionsTableSpec('x')],
      ['TokensTable', tokensTableSpec('x')],
    ] as const) {
      const { Properties } = resource(logical);
      expect(Properties.KeySchema).toEqual(spec.KeySchema);
      expect(Properties.AttributeDefinitions).toEqual(spec.AttributeDefinitions);
      expect(Properties.GlobalSecondaryIndexes).toEqual(spec.GlobalSecondaryIndexes);
    }
  });

  it('guards the link route with the REQUEST authorizer, cached per X-BKAPI-AUTHORIZATION value', () => {
    const authorizer = resource('AuthorizeApiGatewayAuthorizer');
    expect(authorizer.Properties).toMatchObject({
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.X-BKAPI-AUTHORIZATION',
      AuthorizerResultTtlInSeconds: 60,
    });
    const method = Object.values(resources).find((r) => r.Type === 'AWS::ApiGateway::Method');
    expect(method?.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: 'AuthorizeApiGatewayAuthorizer' } });
    expect(statementsOf('AuthorizeRole').flatMap(referencedResources).sort()).toEqual(['AuthorizeLogGroup', 'TokensTable']);
  });

  it('answers a missing token header in the contract\'s error shape', () => {
    expect(resource('MissingTokenGatewayResponse').Properties).toMatchObject({
      ResponseType: 'UNAUTHORIZED',
      StatusCode: '401',
      ResponseParameters: { 'gatewayresponse.header.bkapi-error-code': "'UNAUTHENTICATED'" },
    });
    const body = JSON.parse(resource('MissingTokenGatewayResponse').Properties.ResponseTemplates['application/json']);
    expect(body).toEqual({ code: 'UNAUTHENTICATED', detail: expect.any(String) });
  });

  it('gives the read endpoints their own role: query only the index, objects only under packages/', () => {
    const statements = statementsOf('PackagesRole');
    expect(statements.flatMap((s) => s.Action)).not.toContain('s3:PutObject');
    const query = statements.find((s) => s.Action.includes('dynamodb:Query'));
    expect(JSON.stringify(query?.Resource)).toContain('/index/by_module_updated');
    const methods = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::Method').map(([name]) => name);
    expect(methods).toEqual(
      expect.arrayContaining([
        'ApiGatewayMethodBkappsApplicationsCodeVarModulesModulenameVarSourcepackageGet',
        'ApiGatewayMethodBkappsApplicationsCodeVarModulesModulenameVarSourcepackageVersionVarGet',
        'ApiGatewayMethodBkappsApplicationsCodeVarModulesModulenameVarSourcepackageVersionVarDelete',
        'ApiGatewayMethodBkappsApplicationsCodeVarModulesModulenameVarSourcepackageLinkJobsJobidVarGet',
      ]),
    );
    for (const [, method] of Object.entries(resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::Method')) {
      expect(method.Properties.AuthorizationType).toBe('CUSTOM');
    }
  });

  it('retries asynchronous worker events twice, then sends them to a queue kept 14 days', () => {
    const config = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::EventInvokeConfig');
    expect(config?.Properties).toMatchObject({
      FunctionName: { Ref: 'FetchLambdaFunction' },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['FetchFailuresQueue', 'Arn'] } } },
    });
    expect(resource('FetchFailuresQueue').Properties.MessageRetentionPeriod).toBe(1209600);
    expect(resource('JobsTable').Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expires_at', Enabled: true });
  });

  it('bundles each function minified on its own', () => {
    for (const name of ['authorize', 'link', 'fetch', 'packages', 'jobStatus']) {
      const size = statSync(path.join(outDir, `${name}.zip`)).size;
      expect(size).toBeGreaterThan(10_000);
      expect(size).toBeLessThan(2_000_000);
    }
  });
});
