/**
 * The local API Gateway: the packaged template's REST API served on 127.0.0.1 under a base path
 * (as a custom domain's base path mapping serves it), behaving as API Gateway does and not as a
 * web framework would. A path or method no resource has is MISSING_AUTHENTICATION_TOKEN; a
 * request without the authorizer's identity header is UNAUTHORIZED before any function runs;
 * the REQUEST authorizer's answer is cached per identity value for its TTL; a body over 10 MB
 * is REQUEST_TOO_LARGE; the integration is cut off after its timeout; every one of these
 * answers goes through the template's gateway responses. Anything else — odd content types,
 * bodies, encodings — reaches the function as a Lambda proxy event (payload 1.0), byte-exact,
 * base64 for the binary media types.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { LambdaService } from '../lambda/lambda-service';
import type { LambdaFunction } from '../lambda/functions';
import type { Account } from '../aws-requests';
import { readRequestBody } from '../request-body';
import { renderGatewayResponse, type RenderedResponse, type ResponseType } from './gateway-responses';
import type { Authorizer, Method, RestApi } from './rest-api';

export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface ApiGatewayOptions {
  api: RestApi;
  lambda: LambdaService;
  account: Account;
  /** The stage the template deploys (the event's requestContext.stage). */
  stage: string;
  /** The base path clients use, e.g. `/api/bkpaas3/stag` (a custom domain's mapping). */
  basePath: string;
  log: (line: string) => void;
  /** Told of every answer once it is sent, and why the gateway answered by itself (the terminal's one line per request). */
  onAnswered?: (request: AnsweredRequest, answer: RenderedResponse) => void;
}

export interface AnsweredRequest {
  method: string;
  url: string;
  started: number;
  /** The gateway's own reason when it answered without the function (no token, no route, …). */
  failure?: string;
}

/** A request the gateway answered by itself, in one line for a log. */
export function failureLine(request: Pick<AnsweredRequest, 'method' | 'url'> & { failure: string }): string {
  return `[local API Gateway] ${request.method} ${request.url}: ${request.failure}`;
}

interface Verdict {
  principalId: string;
  context: Record<string, string | number | boolean>;
  policy: unknown;
}

/** A failure API Gateway answers itself, through a gateway response. */
class GatewayFailure extends Error {
  constructor(
    readonly type: ResponseType,
    why: string,
  ) {
    super(why);
  }
}

function mediaTypeMatches(contentType: string | undefined, patterns: string[]): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!type) return false;
  return patterns.some((pattern) => {
    const [wantMajor = '', wantMinor = ''] = pattern.toLowerCase().split('/');
    const [major = '', minor = ''] = type.split('/');
    return (wantMajor === '*' || wantMajor === major) && (wantMinor === '*' || wantMinor === minor);
  });
}

/** Header maps as API Gateway builds them: names as sent, the last value, and all values. */
function headerMaps(req: http.IncomingMessage): { headers: Record<string, string>; multiValueHeaders: Record<string, string[]> } {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const names = new Map<string, string>();
  for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
    const sent = req.rawHeaders[index] ?? '';
    const value = req.rawHeaders[index + 1] ?? '';
    const name = names.get(sent.toLowerCase()) ?? sent;
    names.set(sent.toLowerCase(), name);
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  return { headers, multiValueHeaders };
}

function queryMaps(url: URL): { single: Record<string, string> | null; multi: Record<string, string[]> | null } {
  if ([...url.searchParams.keys()].length === 0) return { single: null, multi: null };
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  return { single, multi };
}

/** API Gateway's throttling: a token bucket of `burst` requests, refilled at `rate` a second. */
class TokenBucket {
  private tokens: number;
  private refilled = Date.now();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilled) / 1000) * this.rate);
    this.refilled = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class LocalApiGateway {
  private readonly cache = new Map<string, { verdict: Verdict; expires: number }>();
  private readonly bucket: TokenBucket | undefined;

  constructor(private readonly options: ApiGatewayOptions) {
    const { throttling } = options.api;
    this.bucket = throttling ? new TokenBucket(throttling.rateLimit, throttling.burstLimit) : undefined;
  }

  private functionFor(arn: string): LambdaFunction {
    const name = arn.split(':')[6] ?? '';
    const fn = this.options.lambda.functionNamed(name);
    if (!fn) throw new GatewayFailure('API_CONFIGURATION_ERROR', `integration ${arn} names no function`);
    return fn;
  }

  listener(): http.RequestListener {
    return (req, res) => {
      const requestId = randomUUID();
      const started = Date.now();
      void readRequestBody(req, MAX_BODY_BYTES).then(({ bytes: body }) => {
        // Why the gateway answered by itself, if it did: told with the answer, or logged.
        let failure: string | undefined;
        this.handle(req, body, requestId, started)
          .catch((error: unknown) => {
            if (error instanceof GatewayFailure) {
              failure = `${error.type} (${error.message})`;
              return renderGatewayResponse(error.type, this.options.api.gatewayResponses, requestId);
            }
            failure = String(error);
            return renderGatewayResponse('API_CONFIGURATION_ERROR', this.options.api.gatewayResponses, requestId);
          })
          .then((answer) => {
            const answered = { method: req.method ?? 'GET', url: req.url ?? '/', started, failure };
            if (!this.options.onAnswered && failure) this.options.log(failureLine({ ...answered, failure }));
            if (res.destroyed) return;
            res.writeHead(answer.status, answer.headers).end(req.method === 'HEAD' ? undefined : answer.body);
            this.options.onAnswered?.(answered, answer);
          });
      });
    };
  }

  private async handle(req: http.IncomingMessage, body: Buffer | undefined, requestId: string, started: number): Promise<RenderedResponse> {
    const { api, basePath } = this.options;
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (rawPath !== basePath && !rawPath.startsWith(`${basePath}/`)) {
      throw new GatewayFailure('MISSING_AUTHENTICATION_TOKEN', `no base path mapping for ${rawPath}`);
    }
    const apiPath = rawPath.slice(basePath.length) || '/';
    // API Gateway ignores a trailing slash; path parameters stay percent-encoded.
    const segments = apiPath.split('/').filter((segment, index, all) => segment !== '' || (index > 0 && index < all.length - 1));
    const match = api.match(segments);
    const httpMethod = (req.method ?? 'GET').toUpperCase();
    const method = match ? api.methodOf(match, httpMethod) : undefined;
    if (!match || !method) throw new GatewayFailure('MISSING_AUTHENTICATION_TOKEN', `no ${httpMethod} method on ${apiPath}`);
    if (this.bucket && !this.bucket.take()) throw new GatewayFailure('THROTTLED', 'over the stage\'s throttling limits');
    if (body === undefined) throw new GatewayFailure('REQUEST_TOO_LARGE', `body over ${MAX_BODY_BYTES} bytes`);

    const { headers, multiValueHeaders } = headerMaps(req);
    // API Gateway tells the function how the client reached it.
    const forwarded = { 'X-Forwarded-For': req.socket.remoteAddress ?? '127.0.0.1', 'X-Forwarded-Port': String(req.socket.localPort ?? ''), 'X-Forwarded-Proto': 'http' };
    for (const [name, value] of Object.entries(forwarded)) {
      headers[name] = value;
      multiValueHeaders[name] = [value];
    }
    const query = queryMaps(url);
    const { account, stage } = this.options;
    const pathParameters = Object.keys(match.pathParameters).length > 0 ? match.pathParameters : null;
    const resourcePath = method.resourcePath;
    const methodArn = `arn:aws:execute-api:${account.region}:${account.accountId}:${api.id}/${stage}/${httpMethod}${apiPath === '/' ? '/' : apiPath.replace(/\/$/, '')}`;
    const requestContext: Record<string, unknown> = {
      resourceId: method.resourceId,
      resourcePath,
      httpMethod,
      extendedRequestId: requestId,
      requestTime: new Date(started).toUTCString(),
      path: rawPath,
      accountId: account.accountId,
      protocol: `HTTP/${req.httpVersion}`,
      stage,
      domainPrefix: '127',
      requestTimeEpoch: started,
      requestId,
      identity: { sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: req.headers['user-agent'] ?? null, accessKey: null, accountId: null, caller: null, user: null, userArn: null },
      domainName: req.headers.host ?? '127.0.0.1',
      apiId: api.id,
    };

    // What the authorizer's REQUEST event and the proxy event (payload 1.0) have in common.
    const request = {
      resource: resourcePath,
      path: apiPath,
      httpMethod,
      headers,
      multiValueHeaders,
      queryStringParameters: query.single,
      multiValueQueryStringParameters: query.multi,
      pathParameters,
      stageVariables: null,
      requestContext,
    };
    if (method.authorizerId) {
      const authorizer = api.authorizers.get(method.authorizerId);
      if (!authorizer) throw new GatewayFailure('AUTHORIZER_CONFIGURATION_ERROR', `unknown authorizer ${method.authorizerId}`);
      const verdict = await this.authorize(authorizer, { type: 'REQUEST', methodArn, ...request }, methodArn);
      requestContext.authorizer = { ...verdict.context, principalId: verdict.principalId, integrationLatency: Date.now() - started };
    }

    const binary = api.binaryMediaTypes.length > 0 && mediaTypeMatches(req.headers['content-type'], api.binaryMediaTypes);
    const event = {
      ...request,
      body: body.length === 0 ? null : binary ? body.toString('base64') : body.toString('utf8'),
      isBase64Encoded: binary && body.length > 0,
    };
    return this.integrate(method, event, methodArn, requestId);
  }

  private async authorize(authorizer: Authorizer, event: Record<string, unknown>, methodArn: string): Promise<Verdict> {
    const headers = event.headers as Record<string, string>;
    const lower = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
    const identity = authorizer.identityHeaders.map((name) => lower.get(name) ?? '');
    if (identity.some((value) => value.trim() === '')) throw new GatewayFailure('UNAUTHORIZED', 'identity source missing');
    const key = `${authorizer.id}\n${identity.join('\n')}`;
    const cached = this.cache.get(key);
    let verdict = cached && cached.expires > Date.now() ? cached.verdict : undefined;
    if (!verdict) {
      const fn = this.functionFor(authorizer.functionArn);
      const outcome = await this.options.lambda.invoke(fn, event).catch((error: unknown) => {
        throw new GatewayFailure('AUTHORIZER_CONFIGURATION_ERROR', String(error));
      });
      if (!outcome.ok) {
        if (outcome.error.errorMessage === 'Unauthorized') throw new GatewayFailure('UNAUTHORIZED', 'the authorizer answered Unauthorized');
        throw new GatewayFailure('AUTHORIZER_CONFIGURATION_ERROR', `the authorizer failed: ${outcome.error.errorType}: ${outcome.error.errorMessage}`);
      }
      verdict = this.verdictOf(JSON.parse(outcome.payload) as unknown);
      if (authorizer.ttlSeconds > 0) this.cache.set(key, { verdict, expires: Date.now() + authorizer.ttlSeconds * 1000 });
    }
    if (!(await this.policyAllows(verdict.policy, methodArn))) throw new GatewayFailure('ACCESS_DENIED', `the policy does not allow ${methodArn}`);
    return verdict;
  }

  private verdictOf(result: unknown): Verdict {
    const answer = (typeof result === 'object' && result !== null ? result : {}) as Record<string, unknown>;
    const context = (answer.context ?? {}) as Record<string, unknown>;
    if (typeof answer.principalId !== 'string' || typeof answer.policyDocument !== 'object' || answer.policyDocument === null) {
      throw new GatewayFailure('AUTHORIZER_CONFIGURATION_ERROR', 'the authorizer answered without principalId or policyDocument');
    }
    for (const value of Object.values(context)) {
      if (!['string', 'number', 'boolean'].includes(typeof value)) {
        throw new GatewayFailure('AUTHORIZER_CONFIGURATION_ERROR', 'authorizer context values must be strings, numbers or booleans');
      }
    }
    return { principalId: answer.principalId, context: context as Verdict['context'], policy: answer.policyDocument };
  }

  private async policyAllows(policy: unknown, methodArn: string): Promise<boolean> {
    const result = await runSimulation(
      {
        request: { principal: `arn:aws:iam::${this.options.account.accountId}:root`, action: 'execute-api:Invoke', resource: { resource: methodArn, accountId: this.options.account.accountId }, contextVariables: {} },
        identityPolicies: [{ name: 'authorizer', policy }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (result.resultType === 'error') throw new GatewayFailure('AUTHORIZER_CONFIGURATION_ERROR', `invalid policy: ${JSON.stringify(result.errors)}`);
    return result.overallResult === 'Allowed';
  }

  private async integrate(method: Method, event: Record<string, unknown>, methodArn: string, requestId: string): Promise<RenderedResponse> {
    const fn = this.functionFor(method.functionArn);
    if (!this.options.api.mayInvoke(fn.arn, methodArn)) {
      throw new GatewayFailure('API_CONFIGURATION_ERROR', `no AWS::Lambda::Permission lets API Gateway invoke ${fn.name} for ${methodArn}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new GatewayFailure('INTEGRATION_TIMEOUT', `${fn.name} did not answer within ${method.timeoutMs} ms`)), method.timeoutMs);
    });
    const outcome = await Promise.race([
      this.options.lambda.invoke(fn, event).catch((error: unknown) => {
        throw new GatewayFailure((error as Error).name === 'TooManyRequestsException' ? 'THROTTLED' : 'INTEGRATION_FAILURE', String(error));
      }),
      timeout,
    ]).finally(() => clearTimeout(timer));
    if (!outcome.ok) throw new GatewayFailure('LAMBDA_ERROR', `${fn.name} failed: ${outcome.error.errorType}: ${outcome.error.errorMessage}`);
    return this.proxyResponse(JSON.parse(outcome.payload) as unknown, fn.name, requestId);
  }

  /** The Lambda proxy result as an HTTP answer; anything malformed is API Gateway's 502. */
  private proxyResponse(result: unknown, functionName: string, requestId: string): RenderedResponse {
    const answer = (typeof result === 'object' && result !== null ? result : {}) as Record<string, unknown>;
    const status = Number(answer.statusCode);
    if (!Number.isInteger(status) || status < 100 || status > 599 || (answer.body !== undefined && answer.body !== null && typeof answer.body !== 'string')) {
      throw new GatewayFailure('LAMBDA_ERROR', `${functionName} answered a malformed Lambda proxy response`);
    }
    const headers: Record<string, string> = { 'x-amzn-requestid': requestId };
    for (const [name, values] of Object.entries((answer.multiValueHeaders ?? {}) as Record<string, unknown[]>)) headers[name] = values.map(String).join(', ');
    for (const [name, value] of Object.entries((answer.headers ?? {}) as Record<string, unknown>)) headers[name] = String(value);
    const text = typeof answer.body === 'string' ? answer.body : '';
    return { status, headers, body: answer.isBase64Encoded === true ? Buffer.from(text, 'base64') : text };
  }
}
