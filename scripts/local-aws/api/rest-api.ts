/**
 * The REST API as the packaged template declares it: the resource tree and its methods, the
 * Lambda authorizer, the binary media types, the gateway responses, and which functions API
 * Gateway has permission to invoke.
 */
import type { Json, JsonObject, ResolvedTemplate } from '../template';

export interface Method {
  httpMethod: string;
  /** `/bkapps/applications/{code}/...`, the resource path. */
  resourcePath: string;
  resourceId: string;
  authorizerId: string | undefined;
  functionArn: string;
  timeoutMs: number;
}

export interface Authorizer {
  id: string;
  /** Header names (lower case) from `method.request.header.X`. */
  identityHeaders: string[];
  ttlSeconds: number;
  functionArn: string;
}

export interface GatewayResponse {
  type: string;
  statusCode: number | undefined;
  headers: Record<string, string>;
  templates: Record<string, string>;
}

interface ResourceNode {
  id: string;
  pathPart: string;
  children: ResourceNode[];
  methods: Map<string, Method>;
  path: string;
}

export interface RouteMatch {
  resource: ResourceNode;
  pathParameters: Record<string, string>;
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `arn:aws:apigateway:region:lambda:path/2015-03-31/functions/<function ARN>/invocations`. */
function functionArnOf(uri: Json | undefined): string {
  const match = /functions\/(arn:aws:lambda:[^/]+)\/invocations$/.exec(String(uri ?? ''));
  if (!match?.[1]) throw new Error(`Unsupported integration URI ${String(uri)}`);
  return match[1];
}

export class RestApi {
  readonly id: string;
  readonly binaryMediaTypes: string[];
  readonly authorizers = new Map<string, Authorizer>();
  readonly gatewayResponses = new Map<string, GatewayResponse>();
  /** The stage's throttling (requests per second and burst), when its method settings give one. */
  readonly throttling: { rateLimit: number; burstLimit: number } | undefined;
  private readonly root: ResourceNode;
  /** Function ARN → SourceArn patterns API Gateway may invoke it from (AWS::Lambda::Permission). */
  private readonly permissions = new Map<string, RegExp[]>();

  constructor(template: ResolvedTemplate) {
    const [api, ...others] = template.ofType('AWS::ApiGateway::RestApi');
    if (!api || others.length > 0) throw new Error('The local API Gateway serves exactly one REST API.');
    this.id = template.physicalName(api.logicalId);
    this.binaryMediaTypes = (Array.isArray(api.properties.BinaryMediaTypes) ? api.properties.BinaryMediaTypes : []).map(String);
    this.root = { id: 'root', pathPart: '', children: [], methods: new Map(), path: '/' };
    const nodes = new Map<string, ResourceNode>([['root', this.root]]);
    const pending = template.ofType('AWS::ApiGateway::Resource');
    // Parents may come after children in the template: attach until nothing moves.
    for (let progress = true; progress && pending.length > 0; ) {
      progress = false;
      for (let index = pending.length - 1; index >= 0; index -= 1) {
        const resource = pending[index];
        const parent = resource ? nodes.get(String(resource.properties.ParentId)) : undefined;
        if (!resource || !parent) continue;
        const pathPart = String(resource.properties.PathPart);
        const node: ResourceNode = { id: resource.logicalId, pathPart, children: [], methods: new Map(), path: `${parent.path === '/' ? '' : parent.path}/${pathPart}` };
        parent.children.push(node);
        nodes.set(resource.logicalId, node);
        pending.splice(index, 1);
        progress = true;
      }
    }
    if (pending.length > 0) throw new Error(`API resources without a parent: ${pending.map((r) => r.logicalId).join(', ')}`);
    for (const method of template.ofType('AWS::ApiGateway::Method')) {
      const { properties } = method;
      const node = nodes.get(String(properties.ResourceId));
      const integration = isObject(properties.Integration) ? properties.Integration : {};
      if (!node) throw new Error(`Method ${method.logicalId} is on an unknown resource.`);
      if (integration.Type !== 'AWS_PROXY') throw new Error(`Method ${method.logicalId}: only Lambda proxy integrations are emulated.`);
      const httpMethod = String(properties.HttpMethod).toUpperCase();
      node.methods.set(httpMethod, {
        httpMethod,
        resourcePath: node.path,
        resourceId: node.id,
        authorizerId: properties.AuthorizationType === 'CUSTOM' ? String(properties.AuthorizerId) : undefined,
        functionArn: functionArnOf(integration.Uri),
        timeoutMs: Number(integration.TimeoutInMillis ?? 29_000),
      });
    }
    for (const authorizer of template.ofType('AWS::ApiGateway::Authorizer')) {
      const { properties } = authorizer;
      if (properties.Type !== 'REQUEST') throw new Error(`Authorizer ${authorizer.logicalId}: only REQUEST authorizers are emulated.`);
      this.authorizers.set(authorizer.logicalId, {
        id: authorizer.logicalId,
        identityHeaders: String(properties.IdentitySource ?? '')
          .split(',')
          .map((source) => source.trim())
          .filter((source) => source.startsWith('method.request.header.'))
          .map((source) => source.slice('method.request.header.'.length).toLowerCase()),
        ttlSeconds: Number(properties.AuthorizerResultTtlInSeconds ?? 300),
        functionArn: functionArnOf(properties.AuthorizerUri),
      });
    }
    for (const response of template.ofType('AWS::ApiGateway::GatewayResponse')) {
      const { properties } = response;
      const parameters = isObject(properties.ResponseParameters) ? properties.ResponseParameters : {};
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(parameters)) {
        const name = /^gatewayresponse\.header\.(.+)$/.exec(key)?.[1];
        const literal = /^'(.*)'$/.exec(String(value))?.[1];
        if (!name || literal === undefined) throw new Error(`Gateway response ${response.logicalId}: only static headers are emulated (${key}).`);
        headers[name] = literal;
      }
      const templates = isObject(properties.ResponseTemplates) ? properties.ResponseTemplates : {};
      this.gatewayResponses.set(String(properties.ResponseType), {
        type: String(properties.ResponseType),
        statusCode: properties.StatusCode === undefined ? undefined : Number(properties.StatusCode),
        headers,
        templates: Object.fromEntries(Object.entries(templates).map(([type, text]) => [type, String(text)])),
      });
    }
    const [stage] = template.ofType('AWS::ApiGateway::Stage');
    const settings = (Array.isArray(stage?.properties.MethodSettings) ? stage.properties.MethodSettings : []).filter(isObject);
    const everyMethod = settings.find((setting) => setting.ResourcePath === '/*' && setting.HttpMethod === '*');
    this.throttling =
      everyMethod?.ThrottlingRateLimit === undefined
        ? undefined
        : { rateLimit: Number(everyMethod.ThrottlingRateLimit), burstLimit: Number(everyMethod.ThrottlingBurstLimit ?? everyMethod.ThrottlingRateLimit) };
    for (const permission of template.ofType('AWS::Lambda::Permission')) {
      const { properties } = permission;
      if (properties.Principal !== 'apigateway.amazonaws.com' || properties.Action !== 'lambda:InvokeFunction') continue;
      const source = String(properties.SourceArn ?? '*');
      const pattern = new RegExp(`^${source.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
      const arn = String(properties.FunctionName);
      this.permissions.set(arn, [...(this.permissions.get(arn) ?? []), pattern]);
    }
  }

  /** Whether a Lambda::Permission lets API Gateway invoke `functionArn` for `sourceArn`. */
  mayInvoke(functionArn: string, sourceArn: string): boolean {
    return (this.permissions.get(functionArn) ?? []).some((pattern) => pattern.test(sourceArn));
  }

  /**
   * The resource a path names, by API Gateway's rule: a literal path part wins over a
   * `{variable}` one at each level. `segments` are the raw (still percent-encoded) path parts.
   */
  match(segments: string[]): RouteMatch | undefined {
    const walk = (node: ResourceNode, index: number, parameters: Record<string, string>): RouteMatch | undefined => {
      if (index === segments.length) return { resource: node, pathParameters: parameters };
      const segment = segments[index] ?? '';
      const literal = node.children.find((child) => child.pathPart === segment);
      const literalMatch = literal ? walk(literal, index + 1, parameters) : undefined;
      if (literalMatch) return literalMatch;
      for (const child of node.children) {
        const variable = /^\{([^}+]+)\}$/.exec(child.pathPart)?.[1];
        if (variable) {
          const found = walk(child, index + 1, { ...parameters, [variable]: segment });
          if (found) return found;
        }
        const greedy = /^\{([^}]+)\+\}$/.exec(child.pathPart)?.[1];
        if (greedy) return { resource: child, pathParameters: { ...parameters, [greedy]: segments.slice(index).join('/') } };
      }
      return undefined;
    };
    return walk(this.root, 0, {});
  }

  methodOf(match: RouteMatch, httpMethod: string): Method | undefined {
    return match.resource.methods.get(httpMethod) ?? match.resource.methods.get('ANY');
  }
}
