/**
 * The CloudFormation template `serverless package --stage stag` produces, offline: the table,
 * the bucket and its lifecycle rule, both functions, and IAM scoped to exactly those resources.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IamAuthority } from '../../../scripts/local-aws/iam';
import { METRIC, METRICS_NAMESPACE } from '../../../lib/core/metrics';
import { packageService, stackName } from '../../../scripts/local-aws/packaging';
import { loadPackagedTemplate, ResolvedTemplate } from '../../../scripts/local-aws/template';
import { tokensTableSpec, versionsTableSpec } from '../../../scripts/local-tables';

const root = path.resolve(__dirname, '../../..');
const workFolder = `.esbuild-template-${process.pid}`;
let outDir: string;
/** The packaging's own temporary folder, to see what it leaves behind. */
let staging: string;
type Resource = { Type: string; Properties: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- CloudFormation JSON is untyped
let resources: Record<string, Resource>;
let resolved: ResolvedTemplate;

beforeAll(async () => {
  outDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-package-'));
  staging = mkdtempSync(path.join(tmpdir(), 'bkpaas-package-tmp-'));
  await promisify(execFile)(
    process.execPath,
    [require.resolve('osls/bin/serverless.js'), 'package', '--stage', 'stag', '--package', outDir],
    { cwd: root, env: { ...process.env, ESBUILD_WORK_FOLDER: workFolder, TMPDIR: staging }, timeout: 120_000 },
  );
  resources = JSON.parse(readFileSync(path.join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')).Resources;
  resolved = loadPackagedTemplate(outDir, { stackName: stackName('stag') });
});

afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
  if (staging) rmSync(staging, { recursive: true, force: true });
  rmSync(path.join(root, workFolder), { recursive: true, force: true });
});

describe('packaging', () => {
  it('leaves nothing in the temporary folder: the zips\' staging folders are removed', () => {
    expect(readdirSync(staging)).toEqual([]);
  });
});

function resource(name: string): Resource {
  const found = resources[name];
  if (!found) throw new Error(`template has no ${name}`);
  return found;
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

  it('has every function on nodejs24.x, the Node the local stack and the tests run on, each with its own role', () => {
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(6);
    for (const fn of functions) expect(fn.Properties.Runtime).toBe('nodejs24.x');
    expect(process.versions.node.split('.')[0]).toBe('24');
    expect(resource('LinkLambdaFunction').Properties).toMatchObject({ Timeout: 29, Role: { 'Fn::GetAtt': ['LinkRole', 'Arn'] } });
    expect(resource('FetchLambdaFunction').Properties).toMatchObject({
      FunctionName: 'bkpaas-source-package-link-stag-fetch',
      Role: { 'Fn::GetAtt': ['FetchRole', 'Arn'] },
    });
    expect(resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it('takes multipart on the link route as binary', () => {
    expect(resource('ApiGatewayRestApi').Properties.BinaryMediaTypes).toContain('multipart/form-data');
    const methods = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGateway::Method');
    expect(methods.map((m) => m.Properties.HttpMethod).sort()).toEqual(expect.arrayContaining(['GET', 'POST']));
    expect(Object.keys(resources)).toContain('ApiGatewayResourceBkappsApplicationsCodeVarModulesModulenameVarSourcepackageLink');
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
  });

  it('serves every method on every route: the ones a function does not serve reach it and get 405, all behind the authorizer', () => {
    const methods = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::Method');
    const byResource = new Map<string, string[]>();
    for (const [, method] of methods) {
      const id = method.Properties.ResourceId.Ref as string;
      byResource.set(id, [...(byResource.get(id) ?? []), method.Properties.HttpMethod]);
      expect(method.Properties.AuthorizationType).toBe('CUSTOM');
    }
    expect(Object.fromEntries([...byResource].map(([id, verbs]) => [id.replace('ApiGatewayResourceBkappsApplicationsCodeVarModulesModulenameVar', ''), verbs.sort()]))).toEqual({
      Sourcepackage: ['ANY', 'GET'],
      SourcepackageVersionVar: ['ANY', 'DELETE', 'GET'],
      SourcepackageLink: ['ANY', 'POST'],
      SourcepackageLinkJobs: ['ANY', 'GET'],
      SourcepackageLinkJobsJobidVar: ['ANY', 'GET'],
    });
  });

  it('retries asynchronous worker events twice, then hands them to fetchFailures, which queues them for 14 days', () => {
    const configs = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventInvokeConfig');
    expect(configs.find((config) => config.Properties.FunctionName.Ref === 'FetchLambdaFunction')?.Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['FetchFailuresLambdaFunction', 'Arn'] } } },
    });
    expect(configs.find((config) => config.Properties.FunctionName.Ref === 'FetchFailuresLambdaFunction')?.Properties).toMatchObject({
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

/** PutEvents' request context: every entry's source (a multivalued key). */
const OUR_SOURCE = { 'events:source': ['bkpaas.source-package'] };

/**
 * What each function's code does with AWS, and why: the roles must grant exactly this. The
 * integration tests run every flow under these roles (IAM enforced from the local template), so
 * a call the code makes and a role lacks fails there; this list keeps the roles from granting more.
 */
const NEEDS: Record<string, [action: string, resource: (t: ResolvedTemplate) => string, context?: Record<string, string[]>][]> = {
  AuthorizeRole: [['dynamodb:GetItem', (t) => tableArn(t, 'TokensTable')]],
  LinkRole: [
    ['dynamodb:GetItem', (t) => tableArn(t, 'VersionsTable')], // the fast 409
    ['dynamodb:GetItem', (t) => tableArn(t, 'TokensTable')], // a direct invocation checks the token itself
    ['dynamodb:GetItem', (t) => tableArn(t, 'JobsTable')], // Idempotency-Key replay
    ['dynamodb:PutItem', (t) => tableArn(t, 'JobsTable')], // createJob
    ['dynamodb:DeleteItem', (t) => tableArn(t, 'JobsTable')], // discardJob: a key whose first attempt never ran
    ['lambda:InvokeFunction', (t) => `arn:aws:lambda:${t.region}:${t.accountId}:function:${t.physicalName('FetchLambdaFunction')}`],
  ],
  FetchRole: [
    ['dynamodb:GetItem', (t) => tableArn(t, 'VersionsTable')],
    ['dynamodb:UpdateItem', (t) => tableArn(t, 'VersionsTable')], // the conditional version write
    ['dynamodb:GetItem', (t) => tableArn(t, 'JobsTable')],
    ['dynamodb:UpdateItem', (t) => tableArn(t, 'JobsTable')], // lease, outcome
    ['s3:PutObject', (t) => objectArn(t)], // multipart upload
    ['s3:DeleteObject', (t) => objectArn(t)], // the loser's or the replaced object
    ['s3:AbortMultipartUpload', (t) => objectArn(t)],
    ['s3:ListBucketMultipartUploads', (t) => `arn:aws:s3:::${t.physicalName('PackagesBucket')}`], // a dead run's upload, to abort
    ['lambda:InvokeFunction', (t) => `arn:aws:lambda:${t.region}:${t.accountId}:function:${t.physicalName('FetchFailuresLambdaFunction')}`], // on-failure destination
    ['events:PutEvents', (t) => busArn(t, 'default'), OUR_SOURCE], // a job's end, on the stage's bus, as this service
  ],
  FetchFailuresRole: [
    ['dynamodb:UpdateItem', (t) => tableArn(t, 'JobsTable')], // the abandoned job recorded failed
    ['dynamodb:GetItem', (t) => tableArn(t, 'JobsTable')], // how it ended, before removing leftovers
    ['dynamodb:GetItem', (t) => tableArn(t, 'VersionsTable')], // does a record point at the job's object?
    ['s3:AbortMultipartUpload', (t) => objectArn(t)],
    ['s3:DeleteObject', (t) => objectArn(t)],
    ['s3:ListBucketMultipartUploads', (t) => `arn:aws:s3:::${t.physicalName('PackagesBucket')}`],
    ['sqs:SendMessage', (t) => `arn:aws:sqs:${t.region}:${t.accountId}:${t.physicalName('FetchFailuresQueue').split('/').pop()}`], // forwarded record; its own on-failure destination

    ['events:PutEvents', (t) => busArn(t, 'default'), OUR_SOURCE], // the job it ended, on the stage's bus, as this service
  ],
  PackagesRole: [
    ['dynamodb:GetItem', (t) => tableArn(t, 'VersionsTable')],
    ['dynamodb:DeleteItem', (t) => tableArn(t, 'VersionsTable')],
    ['dynamodb:PutItem', (t) => tableArn(t, 'VersionsTable')], // a record put back when its object cannot be deleted
    ['dynamodb:Query', (t) => `${tableArn(t, 'VersionsTable')}/index/by_module_updated`],
    ['dynamodb:GetItem', (t) => tableArn(t, 'TokensTable')],
    ['s3:GetObject', (t) => objectArn(t)], // signs the download URLs
    ['s3:DeleteObject', (t) => objectArn(t)],
  ],
  JobStatusRole: [
    ['dynamodb:GetItem', (t) => tableArn(t, 'JobsTable')],
    ['dynamodb:Query', (t) => `${tableArn(t, 'JobsTable')}/index/by_module_created`], // a module's jobs
    ['dynamodb:GetItem', (t) => tableArn(t, 'TokensTable')],
  ],
};

function tableArn(t: ResolvedTemplate, logicalId: string): string {
  return `arn:aws:dynamodb:${t.region}:${t.accountId}:table/${t.physicalName(logicalId)}`;
}

function busArn(t: ResolvedTemplate, bus: string): string {
  return `arn:aws:events:${t.region}:${t.accountId}:event-bus/${bus}`;
}

function objectArn(t: ResolvedTemplate): string {
  return `arn:aws:s3:::${t.physicalName('PackagesBucket')}/packages/app/default/v1/job`;
}

describe('IAM in the packaged template', () => {
  it.each(Object.keys(NEEDS))('grants %s what its code needs', async (roleId) => {
    const iam = new IamAuthority(resolved);
    const role = iam.role(roleId);
    for (const [action, resource, context] of NEEDS[roleId] ?? []) {
      const decision = await iam.authorize({ kind: 'role', role, session: 'template-test' }, { action, resources: [resource(resolved)], ...(context ? { context } : {}) });
      expect(decision, `${roleId} ${action}`).toMatchObject({ allowed: true });
    }
  });

  it.each(Object.keys(NEEDS))('grants %s nothing beyond that, only its own log group, and X-Ray', (roleId) => {
    const statements = new IamAuthority(resolved).role(roleId).policies.flatMap((policy) => policy.policy.Statement as { Action: string[]; Resource: string | string[] }[]);
    const granted = new Set(statements.flatMap((statement) => statement.Action).filter((action) => !action.startsWith('logs:') && !action.startsWith('xray:')));
    expect(statements).toContainEqual(expect.objectContaining({ Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' }));
    expect([...granted].sort()).toEqual([...new Set((NEEDS[roleId] ?? []).map(([action]) => action))].sort());
    const logs = statements.filter((statement) => statement.Action.some((action) => action.startsWith('logs:')));
    expect(logs.flatMap((statement) => statement.Resource)).toEqual([expect.stringContaining(`log-group:/aws/lambda/${stackName('stag')}-`)]);
  });

  it("lets only the worker (fetch and its on-failure destination fetchFailures) put events, only as bkpaas.source-package, and only on the stage's bus (the account's default unless EVENT_BUS_NAME names one)", async () => {
    const iam = new IamAuthority(resolved);
    const put = (roleId: string, bus: string, sources: string[] | null = OUR_SOURCE['events:source']) =>
      iam.authorize({ kind: 'role', role: iam.role(roleId), session: 'template-test' }, { action: 'events:PutEvents', resources: [busArn(resolved, bus)], context: sources ? { 'events:source': sources } : {} });
    const worker = ['FetchRole', 'FetchFailuresRole'];
    for (const roleId of worker) {
      expect(await put(roleId, 'default'), roleId).toMatchObject({ allowed: true });
      expect(await put(roleId, 'another-bus'), roleId).toMatchObject({ allowed: false, message: expect.stringContaining('events:PutEvents') });
      expect(await put(roleId, 'default', ['aws.s3']), `${roleId} as another source`).toMatchObject({ allowed: false });
      expect(await put(roleId, 'default', ['bkpaas.source-package', 'aws.s3']), `${roleId} with one entry of another source`).toMatchObject({ allowed: false });
      expect(await put(roleId, 'default', null), `${roleId} without a source`).toMatchObject({ allowed: false });
      const grant = new IamAuthority(resolved).role(roleId).policies.flatMap((policy) => policy.policy.Statement as { Action: string[]; Condition?: unknown }[]).find((statement) => statement.Action.includes('events:PutEvents'));
      expect(grant?.Condition, roleId).toEqual({ 'ForAllValues:StringEquals': { 'events:source': 'bkpaas.source-package' }, Null: { 'events:source': 'false' } });
    }
    for (const roleId of Object.keys(NEEDS).filter((id) => !worker.includes(id))) expect(await put(roleId, 'default'), roleId).toMatchObject({ allowed: false });
    for (const fn of ['FetchLambdaFunction', 'FetchFailuresLambdaFunction']) expect(resource(fn).Properties.Environment.Variables.EVENT_BUS_NAME, fn).toBe('default');
  });

  it('refuses S3 requests that do not use TLS, for every role, through the bucket policy', () => {
    const policy = resource('PackagesBucketPolicy').Properties.PolicyDocument.Statement[0];
    expect(policy).toMatchObject({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
  });
});

describe("API Gateway's own answers", () => {
  const responses = () => Object.entries(resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::GatewayResponse');
  const byType = (type: string) => responses().find(([, r]) => r.Properties.ResponseType === type)?.[1];

  it.each([
    ['UNAUTHORIZED', '401', 'UNAUTHENTICATED'],
    ['ACCESS_DENIED', '403', 'PERMISSION_DENIED'],
    ['AUTHORIZER_FAILURE', '503', 'STORAGE_UNAVAILABLE'],
    ['AUTHORIZER_CONFIGURATION_ERROR', '503', 'STORAGE_UNAVAILABLE'],
    ['MISSING_AUTHENTICATION_TOKEN', '404', 'ROUTE_NOT_FOUND'],
    ['REQUEST_TOO_LARGE', '413', 'PAYLOAD_TOO_LARGE'],
    ['THROTTLED', '429', 'THROTTLED'],
    ['INTEGRATION_TIMEOUT', '504', 'GATEWAY_TIMEOUT'],
    ['DEFAULT_4XX', undefined, 'REQUEST_REFUSED'],
    ['DEFAULT_5XX', undefined, 'INTERNAL_ERROR'],
  ])('answers %s with %s and the contract\'s body and bkapi-error-code %s', (type, status, code) => {
    const response = byType(type);
    expect(response?.Properties.StatusCode).toBe(status);
    expect(response?.Properties.ResponseParameters).toEqual({ 'gatewayresponse.header.bkapi-error-code': `'${code}'` });
    const body = response?.Properties.ResponseTemplates['application/json'].replace('$context.error.messageString', '"message"');
    expect(JSON.parse(body)).toEqual({ code, detail: expect.any(String) });
  });

  it('goes live only with every gateway response in place: the deployment depends on each', () => {
    const deployment = Object.values(resources).find((r) => r.Type === 'AWS::ApiGateway::Deployment') as Resource & { DependsOn: string[] };
    const ids = responses().map(([id]) => id);
    expect(ids.length).toBeGreaterThanOrEqual(16);
    expect(deployment.DependsOn).toEqual(expect.arrayContaining(ids));
  });

  it('publishes no numbered function versions', () => {
    expect(Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Version')).toEqual([]);
  });
});

describe('the list cursors\' signing key', () => {
  it('is generated by Secrets Manager at stack creation and resolved at deploy into the two listing functions only', () => {
    expect(resource('CursorSigningSecret')).toMatchObject({
      Type: 'AWS::SecretsManager::Secret',
      Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true } },
    });
    const holders = resolved.ofType('AWS::Lambda::Function').filter((fn) => resource(fn.logicalId).Properties.Environment.Variables.CURSOR_SIGNING_KEY !== undefined);
    expect(holders.map((fn) => fn.logicalId).sort()).toEqual(['JobStatusLambdaFunction', 'PackagesLambdaFunction']);
    for (const fn of holders) {
      const raw = resource(fn.logicalId).Properties.Environment.Variables.CURSOR_SIGNING_KEY;
      expect(raw).toEqual({ 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: 'CursorSigningSecret' }, ':SecretString}}']] });
    }
  });

  it('resolves locally to one generated 64-character value per stack, as CloudFormation would', () => {
    const keys = ['JobStatusLambdaFunction', 'PackagesLambdaFunction'].map((logicalId) => {
      const environment = resolved.resource(logicalId).properties.Environment as { Variables: Record<string, string> };
      return environment.Variables.CURSOR_SIGNING_KEY;
    });

    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[A-Za-z0-9]{64}$/);
  });

  it('refuses, locally, a dynamic reference the local stack cannot resolve as AWS would', () => {
    const raw = JSON.parse(readFileSync(path.join(outDir, 'cloudformation-template-update-stack.json'), 'utf8'));
    raw.Resources.PackagesLambdaFunction.Properties.Environment.Variables.CURSOR_SIGNING_KEY = '{{resolve:ssm:/some/parameter}}';

    expect(() => new ResolvedTemplate(raw, { stackName: stackName('stag') })).toThrow(/dynamic reference \{\{resolve:ssm:\/some\/parameter\}\} is not known/);
  });
});

describe('operating it', () => {
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  it('alarms on the failure queue, fetch errors and throttles, fetchFailures and authorizer errors, API 5XX rate, link p99 and unpublished events, to one topic', () => {
    const alarms = Object.fromEntries(ofType('AWS::CloudWatch::Alarm').map(([id, r]) => [id, r.Properties]));
    expect(Object.keys(alarms).sort()).toEqual(
      ['Api5xxRateAlarm', 'AuthorizerErrorsAlarm', 'EventsNotPublishedAlarm', 'FailureQueueAlarm', 'FetchErrorsAlarm', 'FetchFailuresErrorsAlarm', 'FetchThrottlesAlarm', 'LinkLatencyP99Alarm'].sort(),
    );
    expect(alarms.FailureQueueAlarm).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarms.FetchThrottlesAlarm).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Throttles', Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'FetchLambdaFunction' } }] });
    // Deploy-time variables arrive as text; CloudFormation reads the number in it.
    expect(alarms.Api5xxRateAlarm).toMatchObject({ MetricName: '5XXError', Statistic: 'Average' });
    expect(Number(alarms.Api5xxRateAlarm?.Threshold)).toBe(0.05);
    expect(alarms.LinkLatencyP99Alarm).toMatchObject({ MetricName: 'Latency', ExtendedStatistic: 'p99' });
    expect(Number(alarms.LinkLatencyP99Alarm?.Threshold)).toBe(27000);
    for (const alarm of Object.values(alarms)) expect(alarm.AlarmActions).toEqual([{ Ref: 'AlarmsTopic' }]);
    expect(alarms.EventsNotPublishedAlarm).toMatchObject({ Namespace: METRICS_NAMESPACE, MetricName: METRIC.eventsNotPublished, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(resource('AlarmsEmailSubscription')).toMatchObject({ Type: 'AWS::SNS::Subscription', Condition: 'HasAlarmEmail' });
  });

  it('draws every documented metric on the dashboard, in the metrics namespace', () => {
    const body = resource('Dashboard').Properties.DashboardBody['Fn::Sub'] as string;
    const widgets = (JSON.parse(body) as { widgets: { properties: { metrics: unknown[] } }[] }).widgets;
    const drawn = JSON.stringify(widgets.map((widget) => widget.properties.metrics));
    for (const name of Object.values(METRIC)) expect(drawn).toContain(name);
    expect(drawn).toContain(METRICS_NAMESPACE);
  });

  it('traces every function and the stage, logs each request as JSON and errors in full, throttles the stage', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    const stage = resource('ApiGatewayStage').Properties;
    expect(stage.TracingEnabled).toBe(true);
    expect(stage.AccessLogSetting.DestinationArn).toEqual({ 'Fn::GetAtt': ['ApiAccessLogGroup', 'Arn'] });
    expect(Object.keys(JSON.parse(stage.AccessLogSetting.Format))).toEqual(
      expect.arrayContaining(['requestId', 'ip', 'resourcePath', 'status', 'errorMessage', 'errorType', 'authorizerError', 'integrationLatency']),
    );
    expect(stage.MethodSettings[0]).toMatchObject({ ResourcePath: '/*', HttpMethod: '*', LoggingLevel: 'ERROR', DataTraceEnabled: false, ThrottlingRateLimit: 100 });
    expect(stage.MethodSettings).toContainEqual(expect.objectContaining({ ResourcePath: '/~1bkapps~1applications~1{code}~1modules~1{module_name}~1source_package~1link', HttpMethod: 'POST', MetricsEnabled: true }));
    expect(resource('ApiAccessLogGroup').Properties.RetentionInDays).toBe(30);
    const deployment = Object.values(resources).find((r) => r.Type === 'AWS::ApiGateway::Deployment');
    expect(deployment?.Properties.StageName).toBeUndefined();
  });

  it('reserves no concurrency for fetch unless configured (a new account could not spare it), and gives the API a regional endpoint', () => {
    expect(resource('FetchLambdaFunction').Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(resource('ApiGatewayRestApi').Properties.EndpointConfiguration).toEqual({ Types: ['REGIONAL'] });
  });

  it("leaves the account's API Gateway logging role alone unless the operator asks the stack to create it", () => {
    expect(resolved.resources.has('ApiGatewayAccount')).toBe(false);
    expect(resolved.resources.has('ApiGatewayCloudWatchRole')).toBe(false);
    expect(resolved.resource('ApiGatewayStage').dependsOn).not.toContain('ApiGatewayAccount');
  });

  it('maps no custom domain unless one is configured', () => {
    expect(resolved.resources.has('ApiDomainName')).toBe(false);
    expect(resolved.resources.has('ApiBasePathMapping')).toBe(false);
  });
});

describe('a deployment with a custom domain', () => {
  let domainDir: string;
  let withDomain: ResolvedTemplate;

  beforeAll(async () => {
    domainDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-package-domain-'));
    await packageService({
      stage: 'stag',
      outDir: domainDir,
      env: { CUSTOM_DOMAIN_NAME: 'paas.example.com', CUSTOM_DOMAIN_CERTIFICATE_ARN: 'arn:aws:acm:us-east-1:123456789012:certificate/abc', CUSTOM_DOMAIN_HOSTED_ZONE_ID: 'Z123' },
    });
    withDomain = loadPackagedTemplate(domainDir, { stackName: stackName('stag') });
  });

  afterAll(() => {
    if (domainDir) rmSync(domainDir, { recursive: true, force: true });
  });

  it('serves the original base path api/bkpaas3/<stage> on a regional custom domain, after the stage exists', () => {
    expect(withDomain.resource('ApiDomainName').properties).toMatchObject({
      DomainName: 'paas.example.com',
      DomainNameConfigurations: [{ EndpointType: 'REGIONAL', CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc', SecurityPolicy: 'TLS_1_2' }],
    });
    expect(withDomain.resource('ApiBasePathMapping')).toMatchObject({ properties: { ApiMappingKey: 'api/bkpaas3/stag', Stage: 'stag' }, dependsOn: ['ApiGatewayStage'] });
    expect(withDomain.resource('ApiDomainRecord').properties).toMatchObject({ HostedZoneId: 'Z123', Name: 'paas.example.com', Type: 'A' });
  });
});
