/**
 * The functions as the packaged template declares them: code (the zip `serverless package`
 * wrote), handler, timeout, memory, environment, role, reserved concurrency, and the
 * asynchronous invocation policy (retries, event age, destinations).
 */
import path from 'node:path';
import type { Json, JsonObject, ResolvedTemplate } from '../template';

export interface AsyncPolicy {
  maximumRetryAttempts: number;
  maximumEventAgeSeconds: number;
  onFailure: string | undefined;
  onSuccess: string | undefined;
}

export interface LambdaFunction {
  logicalId: string;
  name: string;
  arn: string;
  /** `handlers/fetch.handler`: the module path inside the zip, then the export. */
  handler: string;
  /** Lambda's runtime identifier, `nodejs24.x`: the Node major its containers run. */
  runtime: string;
  zipFile: string;
  timeoutSeconds: number;
  memoryMb: number;
  environment: Record<string, string>;
  roleLogicalId: string;
  reservedConcurrency: number | undefined;
  async: AsyncPolicy;
}

// Lambda's defaults when a function has no EventInvokeConfig.
const DEFAULT_ASYNC: AsyncPolicy = { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600, onFailure: undefined, onSuccess: undefined };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function destination(config: JsonObject, kind: 'OnFailure' | 'OnSuccess'): string | undefined {
  const destinations = config.DestinationConfig;
  if (!isObject(destinations)) return undefined;
  const entry = destinations[kind];
  return isObject(entry) && typeof entry.Destination === 'string' ? entry.Destination : undefined;
}

export function functionsOf(template: ResolvedTemplate, packageDir: string): LambdaFunction[] {
  const roles = template.ofType('AWS::IAM::Role').map((role) => ({ logicalId: role.logicalId, arn: `arn:aws:iam::${template.accountId}:role/${template.physicalName(role.logicalId)}` }));
  const invokeConfigs = template.ofType('AWS::Lambda::EventInvokeConfig').map((config) => config.properties);
  return template.ofType('AWS::Lambda::Function').map((resource) => {
    const { properties } = resource;
    const name = template.physicalName(resource.logicalId);
    const code = isObject(properties.Code) ? properties.Code : {};
    const variables = isObject(properties.Environment) && isObject(properties.Environment.Variables) ? properties.Environment.Variables : {};
    const role = roles.find((candidate) => candidate.arn === properties.Role);
    if (!role) throw new Error(`Function ${resource.logicalId} has no role of this template.`);
    const config = invokeConfigs.find((candidate) => candidate.FunctionName === name);
    return {
      logicalId: resource.logicalId,
      name,
      arn: `arn:aws:lambda:${template.region}:${template.accountId}:function:${name}`,
      handler: String(properties.Handler),
      runtime: String(properties.Runtime),
      zipFile: path.join(packageDir, path.basename(String(code.S3Key ?? `${resource.logicalId}.zip`))),
      // Lambda's defaults: 3 seconds, 128 MB.
      timeoutSeconds: Number(properties.Timeout ?? 3),
      memoryMb: Number(properties.MemorySize ?? 128),
      environment: Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, String(value)])),
      roleLogicalId: role.logicalId,
      reservedConcurrency: properties.ReservedConcurrentExecutions === undefined ? undefined : Number(properties.ReservedConcurrentExecutions),
      async: config
        ? {
            maximumRetryAttempts: Number(config.MaximumRetryAttempts ?? DEFAULT_ASYNC.maximumRetryAttempts),
            maximumEventAgeSeconds: Number(config.MaximumEventAgeInSeconds ?? DEFAULT_ASYNC.maximumEventAgeSeconds),
            onFailure: destination(config, 'OnFailure'),
            onSuccess: destination(config, 'OnSuccess'),
          }
        : DEFAULT_ASYNC,
    };
  });
}
