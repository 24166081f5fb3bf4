/**
 * A packaged template checked as CloudFormation checks it before it creates anything, against the
 * CloudFormation resource specification as the AWS CDK maintains it (`@aws-cdk/aws-service-spec`,
 * built from the CloudFormation registry schemas): resource types and their properties, required
 * properties, value types and enumerations, `Fn::GetAtt` attributes, `Ref`, `Fn::Sub` and
 * `DependsOn` targets, and conditions. Conditions are evaluated as this template writes them
 * (literals compared), so a resource a false condition removes is gone, and a reference to it is
 * the "Unresolved resource dependencies" CloudFormation answers.
 *
 * Each problem is one line naming the resource, the property path and what is wrong.
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import type { Property, PropertyType, SpecDatabase, TypeDefinition } from '@aws-cdk/service-spec-types';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const RESOURCE_KEYS = new Set(['Type', 'Properties', 'DependsOn', 'Condition', 'DeletionPolicy', 'UpdateReplacePolicy', 'Metadata', 'UpdatePolicy', 'CreationPolicy']);
const POLICIES = new Set(['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot']);
const PSEUDO = new Set(['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']);

/**
 * Enumerations the specification leaves as plain strings, for the properties this template sets
 * (from the CloudFormation and service API references), keyed `resource type/definition.property`
 * (the resource's own properties under the definition name `-`).
 */
const MORE_ENUMERATIONS: Record<string, string[]> = {
  'AWS::DynamoDB::Table/-.BillingMode': ['PROVISIONED', 'PAY_PER_REQUEST'],
  'AWS::DynamoDB::Table/AttributeDefinition.AttributeType': ['S', 'N', 'B'],
  'AWS::DynamoDB::Table/KeySchema.KeyType': ['HASH', 'RANGE'],
  'AWS::DynamoDB::Table/Projection.ProjectionType': ['ALL', 'KEYS_ONLY', 'INCLUDE'],
  'AWS::CloudWatch::Alarm/-.ComparisonOperator': [
    'GreaterThanOrEqualToThreshold', 'GreaterThanThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold',
    'LessThanLowerOrGreaterThanUpperThreshold', 'LessThanLowerThreshold', 'GreaterThanUpperThreshold',
  ],
  'AWS::CloudWatch::Alarm/-.Statistic': ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'],
  'AWS::CloudWatch::Alarm/-.TreatMissingData': ['breaching', 'notBreaching', 'ignore', 'missing'],
  'AWS::Lambda::Function/-.Architectures': ['x86_64', 'arm64'],
  'AWS::Lambda::EventInvokeConfig/-.Qualifier': ['$LATEST'],
  'AWS::SNS::Subscription/-.Protocol': ['http', 'https', 'email', 'email-json', 'sms', 'sqs', 'application', 'lambda', 'firehose'],
  'AWS::Route53::RecordSet/-.Type': ['A', 'AAAA', 'CAA', 'CNAME', 'DS', 'HTTPS', 'MX', 'NAPTR', 'NS', 'PTR', 'SOA', 'SPF', 'SRV', 'SSHFP', 'SVCB', 'TLSA', 'TXT'],
  'AWS::ApiGateway::Method/-.AuthorizationType': ['NONE', 'AWS_IAM', 'CUSTOM', 'COGNITO_USER_POOLS'],
  'AWS::ApiGateway::Method/-.HttpMethod': ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'ANY'],
  'AWS::ApiGateway::Authorizer/-.Type': ['TOKEN', 'REQUEST', 'COGNITO_USER_POOLS'],
  'AWS::ApiGateway::Stage/MethodSetting.LoggingLevel': ['OFF', 'ERROR', 'INFO'],
  'AWS::ApiGateway::RestApi/EndpointConfiguration.Types': ['EDGE', 'REGIONAL', 'PRIVATE'],
  'AWS::ApiGatewayV2::DomainName/DomainNameConfiguration.EndpointType': ['REGIONAL', 'EDGE'],
  'AWS::ApiGatewayV2::DomainName/DomainNameConfiguration.SecurityPolicy': ['TLS_1_0', 'TLS_1_2'],
};

let database: SpecDatabase | undefined;

/** The specification, loaded once per process (about half a second). */
export function specification(): SpecDatabase {
  database ??= loadAwsServiceSpecSync();
  return database;
}

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ Ref }` or `{ Fn::… }`: a value CloudFormation computes. */
export function intrinsicOf(value: Json | undefined): [name: string, argument: Json] | undefined {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  const [key] = keys;
  if (keys.length !== 1 || key === undefined || (key !== 'Ref' && key !== 'Condition' && !key.startsWith('Fn::'))) return undefined;
  return [key, value[key] ?? null];
}

/**
 * The template's conditions, evaluated where they compare literals (what `serverless package`
 * leaves once it has read the deploy settings); one that reads a parameter counts as true.
 */
export function evaluateConditions(template: JsonObject): Map<string, boolean> {
  const raw = isObject(template.Conditions) ? template.Conditions : {};
  const values = new Map<string, boolean>();
  const evaluate = (expression: Json, seen: string[]): boolean | undefined => {
    const intrinsic = intrinsicOf(expression);
    if (!intrinsic) return undefined;
    const [name, argument] = intrinsic;
    const list = Array.isArray(argument) ? argument : [];
    switch (name) {
      case 'Condition':
        return typeof argument === 'string' ? conditionValue(argument, seen) : undefined;
      case 'Fn::Equals': {
        const [left, right] = list;
        if (typeof left === 'string' && typeof right === 'string') return left === right;
        return undefined;
      }
      case 'Fn::Not': {
        const inner = evaluate(list[0] ?? null, seen);
        return inner === undefined ? undefined : !inner;
      }
      case 'Fn::And':
      case 'Fn::Or': {
        const parts = list.map((part) => evaluate(part, seen));
        if (parts.includes(undefined)) return undefined;
        return name === 'Fn::And' ? parts.every(Boolean) : parts.some(Boolean);
      }
      default:
        return undefined;
    }
  };
  const conditionValue = (name: string, seen: string[]): boolean => {
    const known = values.get(name);
    if (known !== undefined) return known;
    if (seen.includes(name) || raw[name] === undefined) return true;
    const value = evaluate(raw[name] ?? null, [...seen, name]) ?? true;
    values.set(name, value);
    return value;
  };
  for (const name of Object.keys(raw)) conditionValue(name, []);
  return values;
}

interface Context {
  db: SpecDatabase;
  template: JsonObject;
  resources: JsonObject;
  /** Resources that exist with these deploy settings (their condition true, or none). */
  present: Set<string>;
  parameters: Set<string>;
  conditions: Map<string, boolean>;
  problems: string[];
  /** The type of the resource being checked, for MORE_ENUMERATIONS. */
  resourceType: string;
}

function resourceSpec(db: SpecDatabase, type: string) {
  const found = db.lookup('resource', 'cloudFormationType', 'equals', type);
  return found.length === 1 ? found.only() : undefined;
}

/** What `Fn::GetAtt` of the resource may name: the specification's attributes (and the Ref-like few CloudFormation adds). */
function attributesOf(ctx: Context, logicalId: string): Set<string> | undefined {
  const resource = ctx.resources[logicalId];
  if (!isObject(resource) || typeof resource.Type !== 'string') return undefined;
  const spec = resourceSpec(ctx.db, resource.Type);
  return spec ? new Set(Object.keys(spec.attributes)) : undefined;
}

function checkRef(ctx: Context, target: string, where: string): void {
  if (PSEUDO.has(target) || ctx.parameters.has(target)) return;
  if (ctx.resources[target] === undefined) ctx.problems.push(`${where}: Ref to ${target}, which the template does not declare`);
  else if (!ctx.present.has(target)) ctx.problems.push(`${where}: Ref to ${target}, which its condition removes with these settings (unresolved resource dependency)`);
}

function checkGetAtt(ctx: Context, logicalId: string, attribute: string, where: string): void {
  if (ctx.resources[logicalId] === undefined) return void ctx.problems.push(`${where}: Fn::GetAtt of ${logicalId}, which the template does not declare`);
  if (!ctx.present.has(logicalId)) return void ctx.problems.push(`${where}: Fn::GetAtt of ${logicalId}, which its condition removes with these settings (unresolved resource dependency)`);
  const attributes = attributesOf(ctx, logicalId);
  if (attributes && !attributes.has(attribute)) {
    const type = (ctx.resources[logicalId] as JsonObject).Type as string;
    ctx.problems.push(`${where}: Fn::GetAtt ${logicalId}.${attribute}: ${type} has no attribute ${attribute} (it has ${[...attributes].sort().join(', ') || 'none'})`);
  }
}

/** Every Ref, GetAtt, Sub variable and Condition a value uses, following only the Fn::If branches these settings take. */
function checkIntrinsics(ctx: Context, value: Json, where: string): void {
  if (Array.isArray(value)) return value.forEach((item, index) => checkIntrinsics(ctx, item, `${where}[${index}]`));
  if (!isObject(value)) return;
  const intrinsic = intrinsicOf(value);
  if (!intrinsic) {
    for (const [key, inner] of Object.entries(value)) checkIntrinsics(ctx, inner, `${where}.${key}`);
    return;
  }
  const [name, argument] = intrinsic;
  switch (name) {
    case 'Ref':
      if (typeof argument !== 'string') ctx.problems.push(`${where}: Ref takes a logical id, not ${JSON.stringify(argument)}`);
      else checkRef(ctx, argument, where);
      return;
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = typeof argument === 'string' ? [argument.slice(0, argument.indexOf('.')), argument.slice(argument.indexOf('.') + 1)] : Array.isArray(argument) ? argument : [];
      if (typeof logicalId !== 'string' || typeof attribute !== 'string') ctx.problems.push(`${where}: Fn::GetAtt takes [logicalId, attribute]`);
      else checkGetAtt(ctx, logicalId, attribute, where);
      return;
    }
    case 'Fn::Sub': {
      const [text, variables] = typeof argument === 'string' ? [argument, {}] : Array.isArray(argument) ? argument : [];
      if (typeof text !== 'string') return void ctx.problems.push(`${where}: Fn::Sub takes a string or [string, variables]`);
      const own = isObject(variables ?? null) ? Object.keys(variables as JsonObject) : [];
      for (const match of text.matchAll(/\$\{(?!!)([^}]+)\}/g)) {
        const reference = (match[1] ?? '').trim();
        if (own.includes(reference)) continue;
        const dot = reference.indexOf('.');
        if (dot > 0 && !reference.startsWith('AWS::')) checkGetAtt(ctx, reference.slice(0, dot), reference.slice(dot + 1), `${where} \${${reference}}`);
        else checkRef(ctx, reference, `${where} \${${reference}}`);
      }
      if (isObject(variables ?? null)) checkIntrinsics(ctx, variables as JsonObject, `${where}.Fn::Sub`);
      return;
    }
    case 'Fn::If': {
      const [condition, whenTrue, whenFalse] = Array.isArray(argument) ? argument : [];
      if (typeof condition !== 'string' || !ctx.conditions.has(condition)) return void ctx.problems.push(`${where}: Fn::If names no declared condition (${JSON.stringify(condition)})`);
      checkIntrinsics(ctx, (ctx.conditions.get(condition) ? whenTrue : whenFalse) ?? null, where);
      return;
    }
    case 'Condition':
      if (typeof argument !== 'string' || !ctx.conditions.has(argument)) ctx.problems.push(`${where}: Condition ${JSON.stringify(argument)} is not declared`);
      return;
    default:
      checkIntrinsics(ctx, argument, `${where}.${name}`);
  }
}

/** Fn::If resolved to the branch these settings take; AWS::NoValue to undefined. */
function chosen(ctx: Context, value: Json | undefined): Json | undefined {
  const intrinsic = intrinsicOf(value);
  if (intrinsic?.[0] === 'Fn::If' && Array.isArray(intrinsic[1])) {
    const [condition, whenTrue, whenFalse] = intrinsic[1];
    return chosen(ctx, (typeof condition === 'string' && ctx.conditions.get(condition) === false ? whenFalse : whenTrue) ?? null);
  }
  if (intrinsic?.[0] === 'Ref' && intrinsic[1] === 'AWS::NoValue') return undefined;
  return value;
}

function describeType(db: SpecDatabase, type: PropertyType): string {
  switch (type.type) {
    case 'ref':
      return db.get('typeDefinition', type.reference).name;
    case 'array':
      return `list of ${describeType(db, type.element)}`;
    case 'map':
      return `map of ${describeType(db, type.element)}`;
    case 'union':
      return type.types.map((member) => describeType(db, member)).join(' or ');
    default:
      return type.type;
  }
}

const NUMBER_TEXT = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

function checkValue(ctx: Context, raw: Json | undefined, type: PropertyType, where: string, enumeration?: string[]): void {
  const value = chosen(ctx, raw);
  if (value === undefined) return;
  // A computed value is checked for its targets (checkIntrinsics), not its type: CloudFormation knows it only at deploy.
  if (intrinsicOf(value)) return;
  const fail = (what: string): void => void ctx.problems.push(`${where}: ${what}`);
  switch (type.type) {
    case 'string':
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return fail(`expected a string, got ${JSON.stringify(value).slice(0, 80)}`);
      const allowed = type.allowedValues ?? enumeration;
      if (allowed && !allowed.includes(String(value))) fail(`"${String(value)}" is not one of ${allowed.join(', ')}`);
      return;
    case 'number':
    case 'integer': {
      const number = typeof value === 'number' ? value : typeof value === 'string' && NUMBER_TEXT.test(value.trim()) ? Number(value) : undefined;
      if (number === undefined) return fail(`expected ${type.type === 'integer' ? 'an integer' : 'a number'}, got ${JSON.stringify(value).slice(0, 80)}`);
      if (type.type === 'integer' && !Number.isInteger(number)) return fail(`expected an integer, got ${number}`);
      if (type.type === 'integer' && type.allowedValues && !type.allowedValues.includes(number)) fail(`${number} is not one of ${type.allowedValues.join(', ')}`);
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean' && value !== 'true' && value !== 'false') fail(`expected a boolean, got ${JSON.stringify(value).slice(0, 80)}`);
      return;
    case 'date-time':
      if (typeof value !== 'string') fail(`expected a date-time string, got ${JSON.stringify(value).slice(0, 80)}`);
      return;
    case 'null':
      if (value !== null) fail('expected null');
      return;
    case 'json':
      return;
    case 'tag':
      if (!isObject(value) || value.Key === undefined || value.Value === undefined) fail('expected a tag {Key, Value}');
      return;
    case 'array':
      if (!Array.isArray(value)) return fail(`expected a list, got ${JSON.stringify(value).slice(0, 80)}`);
      value.forEach((item, index) => checkValue(ctx, item, type.element, `${where}[${index}]`, enumeration));
      return;
    case 'map':
      if (!isObject(value)) return fail(`expected a map, got ${JSON.stringify(value).slice(0, 80)}`);
      for (const [key, item] of Object.entries(value)) checkValue(ctx, item, type.element, `${where}.${key}`);
      return;
    case 'union': {
      // A list is checked against the list members, an object against the definitions and maps:
      // the untyped `json` member some properties carry beside their definition would accept anything.
      const shaped = type.types.filter((member) => (Array.isArray(value) ? member.type === 'array' : isObject(value) ? member.type === 'ref' || member.type === 'map' : !['array', 'ref', 'map', 'json'].includes(member.type)));
      const members = shaped.length > 0 ? shaped : type.types;
      const attempts = members.map((member) => {
        const trial: Context = { ...ctx, problems: [] };
        checkValue(trial, value, member, where, enumeration);
        return trial.problems;
      });
      const passing = attempts.find((problems) => problems.length === 0);
      if (!passing) {
        // The member whose shape the value has (an object for a definition, a list for a list) says why best.
        const best = attempts.reduce((fewest, problems) => (problems.length < fewest.length ? problems : fewest));
        ctx.problems.push(...best);
      }
      return;
    }
    case 'ref': {
      const definition: TypeDefinition = ctx.db.get('typeDefinition', type.reference);
      if (!isObject(value)) return fail(`expected ${definition.name} (an object), got ${JSON.stringify(value).slice(0, 80)}`);
      checkProperties(ctx, value, definition.properties, where, definition.name, definition.name);
      return;
    }
  }
}

function checkProperties(ctx: Context, value: JsonObject, properties: Record<string, Property>, where: string, owner: string, definition = '-'): void {
  for (const [name, property] of Object.entries(properties)) {
    if (property.required && chosen(ctx, value[name]) === undefined) ctx.problems.push(`${where}: ${owner} requires ${name}`);
  }
  for (const [name, inner] of Object.entries(value)) {
    const property = properties[name];
    if (!property) {
      ctx.problems.push(`${where}.${name}: ${owner} has no property ${name}`);
      continue;
    }
    checkValue(ctx, inner, property.type, `${where}.${name}`, MORE_ENUMERATIONS[`${ctx.resourceType}/${definition}.${name}`]);
  }
}

/** Everything CloudFormation would refuse in this template, before creating a resource. */
export function checkAgainstSpecification(template: JsonObject, db: SpecDatabase = specification()): string[] {
  const resources = isObject(template.Resources) ? template.Resources : {};
  const conditions = evaluateConditions(template);
  const present = new Set(
    Object.entries(resources)
      .filter(([, resource]) => !isObject(resource) || typeof resource.Condition !== 'string' || conditions.get(resource.Condition) !== false)
      .map(([id]) => id),
  );
  const ctx: Context = {
    db,
    template,
    resources,
    present,
    parameters: new Set(Object.keys(isObject(template.Parameters) ? template.Parameters : {})),
    conditions,
    problems: [],
    resourceType: '',
  };
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!isObject(resource)) {
      ctx.problems.push(`${logicalId}: a resource must be an object`);
      continue;
    }
    for (const key of Object.keys(resource)) if (!RESOURCE_KEYS.has(key)) ctx.problems.push(`${logicalId}: unknown resource attribute ${key}`);
    if (resource.Condition !== undefined && (typeof resource.Condition !== 'string' || !conditions.has(resource.Condition))) {
      ctx.problems.push(`${logicalId}: Condition ${JSON.stringify(resource.Condition)} is not declared`);
    }
    for (const policy of ['DeletionPolicy', 'UpdateReplacePolicy'] as const) {
      if (resource[policy] !== undefined && !POLICIES.has(String(resource[policy]))) ctx.problems.push(`${logicalId}: ${policy} ${JSON.stringify(resource[policy])} is not one of ${[...POLICIES].join(', ')}`);
    }
    if (!present.has(logicalId)) continue;
    const dependsOn = resource.DependsOn === undefined ? [] : Array.isArray(resource.DependsOn) ? resource.DependsOn : [resource.DependsOn];
    for (const target of dependsOn) {
      if (typeof target !== 'string' || resources[target] === undefined) ctx.problems.push(`${logicalId}.DependsOn: ${JSON.stringify(target)} is not a resource of the template`);
      else if (!present.has(target)) ctx.problems.push(`${logicalId}.DependsOn: ${target} is removed by its condition with these settings (unresolved resource dependency)`);
    }
    const type = typeof resource.Type === 'string' ? resource.Type : '';
    const spec = resourceSpec(db, type);
    if (!spec) {
      ctx.problems.push(`${logicalId}: unknown resource type ${JSON.stringify(resource.Type)}`);
      continue;
    }
    const properties = resource.Properties ?? {};
    if (!isObject(properties)) {
      ctx.problems.push(`${logicalId}.Properties: must be an object`);
      continue;
    }
    ctx.resourceType = type;
    checkProperties(ctx, properties, spec.properties, `${logicalId}.Properties`, type);
    checkIntrinsics(ctx, properties, `${logicalId}.Properties`);
  }
  const outputs = isObject(template.Outputs) ? template.Outputs : {};
  for (const [name, output] of Object.entries(outputs)) {
    if (!isObject(output)) continue;
    if (typeof output.Condition === 'string' && conditions.get(output.Condition) === false) continue;
    checkIntrinsics(ctx, output.Value ?? null, `Outputs.${name}.Value`);
  }
  return ctx.problems;
}
