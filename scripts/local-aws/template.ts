/**
 * The packaged CloudFormation template (`serverless package`), resolved as CloudFormation would
 * resolve it in one account and region: intrinsic functions evaluated, every resource given the
 * physical name and ARN it would have. The local stack and the tests read roles, functions,
 * routes, gateway responses and retry policies from here, so the template stays the one source.
 *
 * The resolver is strict: an intrinsic, attribute or resource type it does not know is an
 * error, not a guess, because a wrong ARN would let a check pass that AWS would fail.
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_REGION = 'us-east-1';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface TemplateResource {
  logicalId: string;
  type: string;
  properties: JsonObject;
  dependsOn: string[];
}

export interface ResolveOptions {
  stackName: string;
  region?: string;
  accountId?: string;
  /** Where a queue's URL points (`Ref` of an SQS queue is its URL). */
  sqsEndpoint?: string;
  parameters?: Record<string, string>;
  /**
   * The value of a generated secret (AWS::SecretsManager::Secret with GenerateSecretString), by
   * its logical id; CloudFormation generates one at stack creation. Without it, each resolution
   * generates its own, as a new stack would.
   */
  secretValue?: (logicalId: string, generate: () => string) => string;
}

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asString(value: Json | undefined, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TemplateError(`${what} must resolve to a string, got ${JSON.stringify(value)}`);
}

/** Removed from its object or list, as CloudFormation removes AWS::NoValue. */
const NO_VALUE = Symbol('AWS::NoValue');
type Resolved = Json | typeof NO_VALUE;

export class ResolvedTemplate {
  readonly region: string;
  readonly accountId: string;
  readonly stackName: string;
  readonly resources: ReadonlyMap<string, TemplateResource>;
  private readonly raw: JsonObject;
  private readonly rawResources: JsonObject;
  private readonly conditions = new Map<string, boolean>();
  private readonly options: ResolveOptions;
  private readonly generatedSecrets = new Map<string, string>();

  constructor(template: JsonObject, options: ResolveOptions) {
    this.raw = template;
    this.options = options;
    this.region = options.region ?? LOCAL_REGION;
    this.accountId = options.accountId ?? LOCAL_ACCOUNT_ID;
    this.stackName = options.stackName;
    const rawResources = template.Resources;
    if (!isObject(rawResources)) throw new TemplateError('The template has no Resources.');
    this.rawResources = rawResources;
    const resources = new Map<string, TemplateResource>();
    for (const [logicalId, body] of Object.entries(rawResources)) {
      if (!isObject(body)) throw new TemplateError(`Resource ${logicalId} is not an object.`);
      if (typeof body.Condition === 'string' && !this.condition(body.Condition)) continue;
      const properties = this.resolveDynamicReferences(this.resolve(body.Properties ?? {}, `${logicalId}.Properties`), logicalId);
      const dependsOn = body.DependsOn;
      resources.set(logicalId, {
        logicalId,
        type: asString(body.Type, `${logicalId}.Type`),
        properties: isObject(properties as Json) ? (properties as JsonObject) : {},
        dependsOn: typeof dependsOn === 'string' ? [dependsOn] : Array.isArray(dependsOn) ? dependsOn.map((d) => asString(d, 'DependsOn')) : [],
      });
    }
    this.resources = resources;
  }

  /** Resources of one type, in template order. */
  ofType(type: string): TemplateResource[] {
    return [...this.resources.values()].filter((resource) => resource.type === type);
  }

  resource(logicalId: string): TemplateResource {
    const found = this.resources.get(logicalId);
    if (!found) throw new TemplateError(`The template has no resource ${logicalId}.`);
    return found;
  }

  /** What `Ref` gives for a resource: its physical name (or URL, for a queue). */
  physicalName(logicalId: string): string {
    const body = this.rawResources[logicalId];
    if (!isObject(body)) throw new TemplateError(`Ref to unknown resource ${logicalId}.`);
    const type = asString(body.Type, `${logicalId}.Type`);
    const properties = isObject(body.Properties ?? null) ? (body.Properties as JsonObject) : {};
    const named = (property: string, fallback = `${this.stackName}-${logicalId}`): string =>
      properties[property] === undefined ? fallback : asString(this.resolve(properties[property] ?? null, `${logicalId}.${property}`) as Json, property);
    switch (type) {
      case 'AWS::DynamoDB::Table':
        return named('TableName');
      case 'AWS::S3::Bucket':
        // S3 names are lower case; CloudFormation generates one from the stack and logical id.
        return named('BucketName', `${this.stackName}-${logicalId}`.toLowerCase());
      case 'AWS::SQS::Queue':
        return `${this.options.sqsEndpoint ?? `https://sqs.${this.region}.amazonaws.com`}/${this.accountId}/${named('QueueName')}`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${this.region}:${this.accountId}:${named('TopicName')}`;
      case 'AWS::Lambda::Function':
        return named('FunctionName');
      case 'AWS::IAM::Role':
        return named('RoleName');
      case 'AWS::Logs::LogGroup':
        return named('LogGroupName');
      case 'AWS::ApiGateway::RestApi':
        return 'localapi00';
      case 'AWS::SecretsManager::Secret':
        // Ref is the ARN; Secrets Manager appends six random characters to the name.
        return `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${named('Name')}-AbCdEf`;
      default:
        // API Gateway resources, methods, authorizers, deployments: an opaque id.
        return logicalId;
    }
  }

  /**
   * CloudFormation resolves `{{resolve:secretsmanager:<id>:SecretString}}` in resource properties
   * after the intrinsic functions. Only this template's generated secrets, as a whole string, are
   * known here; any other dynamic reference is an error rather than a value AWS would not give.
   */
  private resolveDynamicReferences(node: Resolved, where: string): Resolved {
    if (typeof node === 'string') {
      return node.replace(/\{\{resolve:([^}]*)\}\}/g, (_match, reference: string) => this.dynamicReference(reference, where));
    }
    if (Array.isArray(node)) return node.map((item) => this.resolveDynamicReferences(item, where) as Json);
    if (isObject(node as Json | undefined)) {
      const out: JsonObject = {};
      for (const [key, value] of Object.entries(node as JsonObject)) out[key] = this.resolveDynamicReferences(value, where) as Json;
      return out;
    }
    return node;
  }

  private dynamicReference(reference: string, where: string): string {
    const match = /^secretsmanager:(.+):SecretString$/.exec(reference);
    const logicalId = match?.[1] ? this.secretLogicalId(match[1]) : undefined;
    if (!logicalId) throw new TemplateError(`${where}: the dynamic reference {{resolve:${reference}}} is not known to the local resolver.`);
    const generate = (): string => generatedSecret(this.rawResources[logicalId] as JsonObject, logicalId);
    const value = this.options.secretValue?.(logicalId, generate) ?? this.generatedSecrets.get(logicalId) ?? generate();
    this.generatedSecrets.set(logicalId, value);
    return value;
  }

  /** The logical id of this template's secret with that ARN or name. */
  private secretLogicalId(secretId: string): string | undefined {
    return Object.entries(this.rawResources).find(([logicalId, body]) => {
      if (!isObject(body) || body.Type !== 'AWS::SecretsManager::Secret') return false;
      const arn = this.physicalName(logicalId);
      return secretId === arn || secretId === arn.slice(arn.lastIndexOf(':') + 1, -'-AbCdEf'.length);
    })?.[0];
  }

  private attribute(logicalId: string, attribute: string): string {
    const body = this.rawResources[logicalId];
    if (!isObject(body)) throw new TemplateError(`Fn::GetAtt of unknown resource ${logicalId}.`);
    const type = asString(body.Type, `${logicalId}.Type`);
    const name = (): string => this.physicalName(logicalId);
    const arnOf: Record<string, () => string> = {
      'AWS::DynamoDB::Table': () => `arn:aws:dynamodb:${this.region}:${this.accountId}:table/${name()}`,
      'AWS::S3::Bucket': () => `arn:aws:s3:::${name()}`,
      'AWS::SQS::Queue': () => `arn:aws:sqs:${this.region}:${this.accountId}:${name().split('/').pop() ?? ''}`,
      'AWS::SNS::Topic': () => name(),
      'AWS::Lambda::Function': () => `arn:aws:lambda:${this.region}:${this.accountId}:function:${name()}`,
      'AWS::IAM::Role': () => `arn:aws:iam::${this.accountId}:role/${name()}`,
      'AWS::Logs::LogGroup': () => `arn:aws:logs:${this.region}:${this.accountId}:log-group:${name()}:*`,
    };
    if (attribute === 'Arn' && arnOf[type]) return arnOf[type]();
    if (type === 'AWS::SQS::Queue' && attribute === 'QueueName') return name().split('/').pop() ?? '';
    if (type === 'AWS::SQS::Queue' && attribute === 'QueueUrl') return name();
    if (type === 'AWS::S3::Bucket' && attribute === 'DomainName') return `${name()}.s3.amazonaws.com`;
    if (type === 'AWS::ApiGateway::RestApi' && attribute === 'RootResourceId') return 'root';
    const domainName = type === 'AWS::ApiGateway::DomainName' || type === 'AWS::ApiGatewayV2::DomainName';
    if (domainName && attribute === 'RegionalDomainName') return `d-local.execute-api.${this.region}.amazonaws.com`;
    if (domainName && attribute === 'RegionalHostedZoneId') return 'ZLOCAL';
    throw new TemplateError(`Fn::GetAtt ${logicalId}.${attribute} (${type}) is not known to the local resolver.`);
  }

  private pseudo(name: string): Resolved | undefined {
    switch (name) {
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return this.accountId;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${this.region}:${this.accountId}:stack/${this.stackName}/local`;
      case 'AWS::NoValue':
        return NO_VALUE;
      default:
        return undefined;
    }
  }

  private ref(name: string): Resolved {
    const pseudo = this.pseudo(name);
    if (pseudo !== undefined) return pseudo;
    const parameters = isObject(this.raw.Parameters ?? null) ? (this.raw.Parameters as JsonObject) : {};
    if (Object.hasOwn(parameters, name)) {
      const given = this.options.parameters?.[name];
      if (given !== undefined) return given;
      const definition = parameters[name];
      if (isObject(definition ?? null) && (definition as JsonObject).Default !== undefined) return (definition as JsonObject).Default ?? null;
      throw new TemplateError(`Parameter ${name} has no value and no default.`);
    }
    return this.physicalName(name);
  }

  condition(name: string): boolean {
    const known = this.conditions.get(name);
    if (known !== undefined) return known;
    const conditions = isObject(this.raw.Conditions ?? null) ? (this.raw.Conditions as JsonObject) : {};
    const body = conditions[name];
    if (body === undefined) throw new TemplateError(`Unknown condition ${name}.`);
    const value = this.resolve(body, `Conditions.${name}`);
    if (typeof value !== 'boolean') throw new TemplateError(`Condition ${name} does not resolve to a boolean.`);
    this.conditions.set(name, value);
    return value;
  }

  /** Evaluates every intrinsic function in `node`. */
  resolve(node: Json, where: string): Resolved {
    if (Array.isArray(node)) {
      return node.map((item, index) => this.resolve(item, `${where}[${index}]`)).filter((item): item is Json => item !== NO_VALUE);
    }
    if (!isObject(node)) return node;
    const keys = Object.keys(node);
    const only = keys.length === 1 ? keys[0] : undefined;
    const argument = only === undefined ? undefined : node[only];
    if (only !== undefined && argument !== undefined && (only === 'Ref' || only === 'Condition' || only.startsWith('Fn::'))) {
      return this.intrinsic(only, argument, where);
    }
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      const resolved = this.resolve(value, `${where}.${key}`);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  private intrinsic(name: string, argument: Json, where: string): Resolved {
    const value = (node: Json): Json => {
      const resolved = this.resolve(node, where);
      if (resolved === NO_VALUE) throw new TemplateError(`${where}: AWS::NoValue where a value is needed.`);
      return resolved;
    };
    const list = (node: Json): Json[] => {
      const resolved = value(node);
      if (!Array.isArray(resolved)) throw new TemplateError(`${where}: ${name} needs a list, got ${JSON.stringify(resolved)}.`);
      return resolved;
    };
    switch (name) {
      case 'Ref':
        return this.ref(asString(argument, `${where} Ref`));
      case 'Condition':
        return this.condition(asString(argument, `${where} Condition`));
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = typeof argument === 'string' ? argument.split('.') : list(argument).map((part) => asString(part, where));
        if (!logicalId || !attribute) throw new TemplateError(`${where}: malformed Fn::GetAtt.`);
        return this.attribute(logicalId, attribute);
      }
      case 'Fn::Join': {
        const [separator, parts] = list(argument);
        return list(parts ?? []).map((part) => asString(part, where)).join(asString(separator ?? '', where));
      }
      case 'Fn::Select': {
        const [index, items] = list(argument);
        const picked = list(items ?? [])[Number(index)];
        if (picked === undefined) throw new TemplateError(`${where}: Fn::Select index out of range.`);
        return picked;
      }
      case 'Fn::Split': {
        const [separator, text] = list(argument);
        return asString(text ?? '', where).split(asString(separator ?? '', where));
      }
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(argument) ? [argument[0], argument[1]] : [argument, {}];
        const bound = isObject(variables ?? null) ? (value(variables ?? {}) as JsonObject) : {};
        return asString(text ?? '', where).replace(/\$\{([^}!][^}]*)\}/g, (_match, expression: string) => {
          if (Object.hasOwn(bound, expression)) return asString(bound[expression] ?? null, where);
          const [logicalId, attribute] = expression.split('.');
          if (attribute !== undefined && logicalId !== undefined) return this.attribute(logicalId, attribute);
          return asString(this.ref(expression) as Json, where);
        });
      }
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = Array.isArray(argument) ? argument : [];
        return this.resolve((this.condition(asString(condition ?? null, where)) ? whenTrue : whenFalse) ?? null, where);
      }
      case 'Fn::Equals': {
        const [left, right] = list(argument);
        return JSON.stringify(left) === JSON.stringify(right);
      }
      case 'Fn::Not':
        return !list(argument)[0];
      case 'Fn::And':
        return list(argument).every(Boolean);
      case 'Fn::Or':
        return list(argument).some(Boolean);
      default:
        throw new TemplateError(`${where}: ${name} is not supported by the local resolver.`);
    }
  }
}

const LETTERS_AND_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** What GenerateSecretString makes of the options this project uses: length, letters and digits only. */
function generatedSecret(body: JsonObject, logicalId: string): string {
  const properties = isObject(body.Properties ?? null) ? (body.Properties as JsonObject) : {};
  const options = properties.GenerateSecretString;
  if (!isObject(options ?? null)) throw new TemplateError(`${logicalId}: only generated secrets (GenerateSecretString) are known locally.`);
  const { PasswordLength = 32, ExcludePunctuation, ...others } = options as JsonObject;
  if (ExcludePunctuation !== true || Object.keys(others).length > 0 || typeof PasswordLength !== 'number') {
    throw new TemplateError(`${logicalId}: GenerateSecretString supports PasswordLength and ExcludePunctuation: true only.`);
  }
  return Array.from({ length: PasswordLength }, () => LETTERS_AND_DIGITS[randomInt(LETTERS_AND_DIGITS.length)]).join('');
}

export const PACKAGED_TEMPLATE_FILE = 'cloudformation-template-update-stack.json';

/** Reads `serverless package`'s output folder and resolves its template. */
export function loadPackagedTemplate(packageDir: string, options: ResolveOptions): ResolvedTemplate {
  const raw = JSON.parse(readFileSync(path.join(packageDir, PACKAGED_TEMPLATE_FILE), 'utf8')) as JsonObject;
  return new ResolvedTemplate(raw, options);
}
