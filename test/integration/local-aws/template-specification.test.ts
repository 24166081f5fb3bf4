/**
 * The packaged `stag` template, as CloudFormation and the services would take it on a first deploy:
 * every resource against the CloudFormation resource specification (@aws-cdk/aws-service-spec),
 * the create-time rules the specification does not carry (Lambda's environment size, API Gateway's
 * method-settings paths and gateway responses, IAM actions that exist) and the dashboard body as
 * PutDashboard reads it. Packaged twice: with the defaults, and with every optional feature on.
 * Each check is also shown refusing a template with one planted mistake.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageService, stackName } from '../../../scripts/local-aws/packaging';
import { ResolvedTemplate } from '../../../scripts/local-aws/template';
import { checkCreateTimeRules, checkIamActions, environmentSizes, LAMBDA_ENVIRONMENT_LIMIT_BYTES } from '../../../scripts/template-checks/create-time-rules';
import { checkDashboardBody } from '../../../scripts/template-checks/dashboard';
import { checkAgainstSpecification, type JsonObject } from '../../../scripts/template-checks/resource-spec';

const STACK = stackName('stag');
/** Every optional feature on: custom domain with its hosted zone, alarm e-mail, the stack creating the logging role, a reservation. */
const ALL_FEATURES = {
  CUSTOM_DOMAIN_NAME: 'paas.example.com',
  CUSTOM_DOMAIN_CERTIFICATE_ARN: 'arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-0000-4000-8000-000000000000',
  CUSTOM_DOMAIN_HOSTED_ZONE_ID: 'Z0123456789ABCDEFGHIJ',
  ALARM_EMAIL: 'ops@example.com',
  APIGW_CLOUDWATCH_ROLE: 'create',
  FETCH_RESERVED_CONCURRENCY: '20',
};
const variants: Record<string, JsonObject> = {};
const folders: string[] = [];

async function packaged(env: Record<string, string>): Promise<JsonObject> {
  const outDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-spec-'));
  folders.push(outDir);
  // As from a fresh shell: only what the variant sets reaches serverless.yml.
  await packageService({ stage: 'stag', outDir, env, unset: Object.keys(ALL_FEATURES) });
  return JSON.parse(readFileSync(path.join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')) as JsonObject;
}

beforeAll(async () => {
  variants.defaults = await packaged({});
  variants['every optional feature'] = await packaged(ALL_FEATURES);
});

afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function variant(name: string): JsonObject {
  const template = variants[name];
  if (!template) throw new Error(`no packaged variant ${name}`);
  return template;
}

function resourcesOf(template: JsonObject): Record<string, JsonObject & { Properties: Record<string, any> }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- CloudFormation JSON is untyped
  return template.Resources as never;
}

/** The default template with one change: what a planted mistake looks like. */
function planted(change: (resources: ReturnType<typeof resourcesOf>) => void): JsonObject {
  const template = structuredClone(variant('defaults'));
  change(resourcesOf(template));
  return template;
}

function dashboardBody(template: JsonObject): string {
  const body = resourcesOf(template).Dashboard?.Properties.DashboardBody;
  return new ResolvedTemplate(template, { stackName: STACK }).resolve(body, 'Dashboard') as string;
}

describe.each(['defaults', 'every optional feature'])('the packaged stag template with %s', (name) => {
  it('meets the CloudFormation resource specification: types, properties, required ones, value types, enumerations, GetAtt, Ref and DependsOn', () => {
    expect(checkAgainstSpecification(variant(name))).toEqual([]);
  });

  it("meets the services' create-time rules: environment size, method-settings paths, gateway responses, IAM actions", async () => {
    expect(await checkCreateTimeRules(variant(name), STACK)).toEqual([]);
  });

  it('has a dashboard body PutDashboard accepts', () => {
    expect(checkDashboardBody(dashboardBody(variant(name)))).toEqual([]);
  });
});

describe('the optional features', () => {
  it('add the domain, its mapping and DNS record, the e-mail subscription, the logging role and the reservation', () => {
    const resources = resourcesOf(variant('every optional feature'));
    for (const id of ['ApiDomainName', 'ApiBasePathMapping', 'ApiDomainRecord', 'AlarmsEmailSubscription', 'ApiGatewayAccount', 'ApiGatewayCloudWatchRole']) expect(resources[id], id).toBeDefined();
    expect(Number(resources.FetchLambdaFunction?.Properties.ReservedConcurrentExecutions)).toBe(20);
  });

  it('keep every function environment well under the 4 KB Lambda allows', () => {
    const sizes = Object.values(environmentSizes(variant('every optional feature'), STACK));
    expect(Math.max(...sizes)).toBeLessThan(LAMBDA_ENVIRONMENT_LIMIT_BYTES / 2);
  });
});

describe("the deploying identity's policy (docs/deploy-policy.json)", () => {
  const policy = JSON.parse(readFileSync(path.resolve(__dirname, '../../../docs/deploy-policy.json'), 'utf8')) as JsonObject;
  const SERVICE_OF: Record<string, string> = { ApiGatewayV2: 'apigateway', Logs: 'logs', CloudWatch: 'cloudwatch' };

  it('names only IAM actions that exist', async () => {
    expect(await checkIamActions({ Resources: { DeployPolicy: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: policy } } } })).toEqual([]);
  });

  it('grants actions in the service of every resource type the template creates with every feature on', () => {
    const statements = policy.Statement as { Action: string[] }[];
    const granted = new Set(statements.flatMap((statement) => statement.Action.map((action) => action.split(':')[0])));
    const types = new Set(Object.values(resourcesOf(variant('every optional feature'))).map((resource) => String(resource.Type)));
    const services = [...types].map((type) => SERVICE_OF[type.split('::')[1] ?? ''] ?? (type.split('::')[1] ?? '').toLowerCase());

    expect(services.filter((service) => !granted.has(service))).toEqual([]);
  });
});

describe('the specification check refuses a planted mistake', () => {
  it('an unknown property', () => {
    const template = planted((resources) => void (resources.PackagesBucket!.Properties.VersioningEnabled = true));
    expect(checkAgainstSpecification(template)).toEqual(['PackagesBucket.Properties.VersioningEnabled: AWS::S3::Bucket has no property VersioningEnabled']);
  });

  it('a missing required property', () => {
    const template = planted((resources) => void delete resources.VersionsTable!.Properties.KeySchema);
    expect(checkAgainstSpecification(template)).toEqual(['VersionsTable.Properties: AWS::DynamoDB::Table requires KeySchema']);
  });

  it('a property inside a nested definition, a wrong value type and a value outside an enumeration', () => {
    const template = planted((resources) => {
      resources.FetchFailuresQueue!.Properties.MessageRetentionPeriod = 'two weeks';
      resources.VersionsTable!.Properties.KeySchema[0].KeyType = 'PARTITION';
      resources.PackagesBucket!.Properties.LifecycleConfiguration.Rules[0].ExpireAfterDays = 1;
    });
    expect(checkAgainstSpecification(template).sort()).toEqual(
      [
        'FetchFailuresQueue.Properties.MessageRetentionPeriod: expected an integer, got "two weeks"',
        'PackagesBucket.Properties.LifecycleConfiguration.Rules[0].ExpireAfterDays: Rule has no property ExpireAfterDays',
        'VersionsTable.Properties.KeySchema[0].KeyType: "PARTITION" is not one of HASH, RANGE',
      ].sort(),
    );
  });

  it('a GetAtt of an attribute the resource type does not have', () => {
    const template = planted((resources) => void (resources.LinkRole!.Properties.Policies[0].PolicyDocument.Statement[0].Resource = [{ 'Fn::GetAtt': ['LinkLogGroup', 'Name'] }]));
    expect(checkAgainstSpecification(template)).toEqual([expect.stringMatching(/^LinkRole\.Properties\.Policies\[0\].*Fn::GetAtt LinkLogGroup\.Name: AWS::Logs::LogGroup has no attribute Name \(it has Arn\)$/)]);
  });

  it('an unknown resource type, a Ref and a DependsOn to nothing, and a reference to a resource its condition removes', () => {
    const template = planted((resources) => {
      resources.Extra = { Type: 'AWS::S3::Buckets', Properties: {} } as never;
      resources.AlarmsTopic!.Properties.TopicName = { Ref: 'NoSuchParameter' };
      resources.Dashboard!.DependsOn = ['NoSuchResource'];
      resources.FetchErrorsAlarm!.Properties.AlarmActions = [{ Ref: 'AlarmsEmailSubscription' }];
    });
    expect(checkAgainstSpecification(template).sort()).toEqual(
      [
        'AlarmsTopic.Properties.TopicName: Ref to NoSuchParameter, which the template does not declare',
        'Dashboard.DependsOn: "NoSuchResource" is not a resource of the template',
        'Extra: unknown resource type "AWS::S3::Buckets"',
        'FetchErrorsAlarm.Properties.AlarmActions[0]: Ref to AlarmsEmailSubscription, which its condition removes with these settings (unresolved resource dependency)',
      ].sort(),
    );
  });
});

describe('the create-time rules refuse a planted mistake', () => {
  it('a function environment over 4 KB', async () => {
    const template = planted((resources) => void (resources.LinkLambdaFunction!.Properties.Environment.Variables.URL_ALLOWED_HOSTS = 'h'.repeat(4000)));
    expect(await checkCreateTimeRules(template, STACK)).toEqual([expect.stringMatching(/^LinkLambdaFunction\.Properties\.Environment: about 5\d{3} bytes as Lambda measures it, over its 4096-byte limit$/)]);
  });

  it('a method setting on a route the API does not have, on a method it does not serve, or written with slashes', async () => {
    const template = planted((resources) => {
      const settings = resources.ApiGatewayStage!.Properties.MethodSettings;
      settings.push({ ResourcePath: '/~1bkapps~1link', HttpMethod: 'POST', MetricsEnabled: true });
      settings.push({ ResourcePath: '/~1bkapps~1applications~1{code}~1modules~1{module_name}~1source_package~1link~1jobs', HttpMethod: 'PUT', MetricsEnabled: true });
      settings.push({ ResourcePath: '/bkapps/applications', HttpMethod: 'GET', MetricsEnabled: true });
    });
    const problems = await checkCreateTimeRules(template, STACK);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/ResourcePath \/~1bkapps~1link is not a route of the API/);
    expect(problems[1]).toMatch(/has no PUT method/);
    expect(problems[2]).toMatch(/must be \/\* or a route with each \/ written ~1/);
  });

  it('a gateway response of an unknown type, with a parameter API Gateway cannot map and a template that is not JSON', async () => {
    const template = planted((resources) => {
      const response = Object.values(resources).find((resource) => resource.Type === 'AWS::ApiGateway::GatewayResponse' && resource.Properties.ResponseType === 'THROTTLED');
      response!.Properties.ResponseType = 'TOO_MANY_REQUESTS';
      response!.Properties.ResponseParameters = { 'gatewayresponse.header.bkapi-error-code': 'THROTTLED' };
      response!.Properties.ResponseTemplates = { 'application/json': '{"code": "THROTTLED", "detail": $context.error.messageString' };
    });
    const problems = await checkCreateTimeRules(template, STACK);
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/TOO_MANY_REQUESTS is not a gateway response type/);
    expect(problems.join('\n')).toMatch(/"THROTTLED" is neither a quoted literal nor a request, stage or context value/);
    expect(problems.join('\n')).toMatch(/not JSON once its variables are filled/);
  });

  it('an IAM action that does not exist, in a role or a bucket policy', async () => {
    const template = planted((resources) => {
      resources.FetchRole!.Properties.Policies[0].PolicyDocument.Statement[2].Action = ['s3:PutObject', 's3:CompleteMultipartUpload'];
      resources.PackagesBucketPolicy!.Properties.PolicyDocument.Statement[0].Action = 's4:*';
    });
    expect((await checkCreateTimeRules(template, STACK)).sort()).toEqual(
      [
        'FetchRole.Properties.Policies[0].Statement[2].Action: "s3:CompleteMultipartUpload": s3 has no such action',
        'PackagesBucketPolicy.Properties.PolicyDocument.Statement[0].Action: "s4:*": IAM has no service s4',
      ].sort(),
    );
  });
});

describe('the dashboard check refuses a planted mistake', () => {
  it('a bare SEARCH expression object in metrics, where PutDashboard requires an array', () => {
    const body = JSON.parse(dashboardBody(variant('defaults')));
    const [expression] = body.widgets[0].properties.metrics[0];
    body.widgets[0].properties.metrics[0] = expression;
    expect(checkDashboardBody(JSON.stringify(body))).toEqual([expect.stringMatching(/^widgets\[0\]\.properties\.metrics\[0\]: each metrics entry must be an array/)]);
  });

  it('an expression id that starts upper case or repeats, a widget past the grid, and an unknown statistic', () => {
    const body = JSON.parse(dashboardBody(variant('defaults')));
    body.widgets[1].properties.metrics[1][0].id = 'JobsFailed';
    body.widgets[1].properties.metrics.push([{ expression: 'SUM(METRICS())', id: 'JobsFailed' }]);
    body.widgets[2].x = 18;
    body.widgets[3].properties.metrics[0][8].stat = 'Median';
    expect(checkDashboardBody(JSON.stringify(body))).toEqual([
      'widgets[1].properties.metrics[1].id: "JobsFailed" must start with a lower-case letter and hold only letters, digits and _',
      'widgets[1].properties.metrics[3].id: "JobsFailed" must start with a lower-case letter and hold only letters, digits and _',
      'widgets[1].properties.metrics[3].id: "JobsFailed" is used twice in the widget',
      'widgets[2]: x + width passes the 24 columns',
      'widgets[3].properties.metrics[0].stat: "Median" is not a statistic',
    ]);
  });
});
