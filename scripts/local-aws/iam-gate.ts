/**
 * The local IAM check in front of an emulator: every DynamoDB or S3 request is matched to its
 * IAM action and resource, the caller's role is taken from the access key it signed with, and
 * the request goes on to the emulator only if the role's policies allow it. A refusal is the
 * answer AWS gives (DynamoDB's AccessDeniedException, S3's AccessDenied), so the service's own
 * error handling meets it locally exactly as it would in production.
 */
import http from 'node:http';
import { dynamoDbRequest, s3Request, type Account } from './aws-requests';
import { accessKeyOf, ADMIN_CREDENTIALS, type AuthorizationRequest, type Caller, type IamAuthority } from './iam';

export type GatedService = 'dynamodb' | 's3';

export interface GateOptions {
  service: GatedService;
  iam: IamAuthority;
  account: Account;
  upstreamPort: number;
  /** Told about every refusal (the local stack prints them: a missing permission is a bug to fix). */
  onDenied?: (line: string) => void;
}

// DynamoDB's own request limit; a bigger body is refused before it is buffered.
const MAX_DYNAMODB_BODY_BYTES = 16 * 1024 * 1024;

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.destroy();
        reject(new Error('request body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function deny(service: GatedService, res: http.ServerResponse, caller: Caller, message: string): void {
  if (service === 'dynamodb') {
    const type = caller.kind === 'unknown' ? 'UnrecognizedClientException' : 'AccessDeniedException';
    res
      .writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'local-iam' })
      .end(JSON.stringify({ __type: `com.amazon.coral.service#${type}`, Message: message, message }));
    return;
  }
  const code = caller.kind === 'unknown' ? 'InvalidAccessKeyId' : 'AccessDenied';
  const escaped = message.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`);
  res
    .writeHead(403, { 'content-type': 'application/xml' })
    .end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escaped}</Message><RequestId>local-iam</RequestId></Error>`);
}

/** s3rver knows one key; past the check, requests go on signed as it (it accepts mismatched signatures). */
function asEmulatorKey(headers: http.IncomingHttpHeaders, url: URL, accessKeyId: string | undefined): { headers: http.IncomingHttpHeaders; path: string } {
  if (!accessKeyId || accessKeyId === ADMIN_CREDENTIALS.accessKeyId) return { headers, path: url.pathname + url.search };
  const rewritten = { ...headers };
  if (typeof rewritten.authorization === 'string') {
    rewritten.authorization = rewritten.authorization.replace(`Credential=${accessKeyId}/`, `Credential=${ADMIN_CREDENTIALS.accessKeyId}/`);
  }
  const credential = url.searchParams.get('X-Amz-Credential');
  if (credential) url.searchParams.set('X-Amz-Credential', credential.replace(`${accessKeyId}/`, `${ADMIN_CREDENTIALS.accessKeyId}/`));
  return { headers: rewritten, path: url.pathname + url.search };
}

function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  upstreamPort: number,
  target: { headers: http.IncomingHttpHeaders; path: string },
  body: Buffer | undefined,
): void {
  const upstream = http.request(
    { host: '127.0.0.1', port: upstreamPort, method: req.method, path: target.path, headers: target.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  res.on('close', () => upstream.destroy());
  if (body) upstream.end(body);
  else req.pipe(upstream);
}

export function iamGate(options: GateOptions): http.RequestListener {
  const { service, iam, account } = options;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const accessKeyId = accessKeyOf(req.headers, url);
    const caller = iam.callerOf(accessKeyId);
    const check = async (): Promise<void> => {
      let body: Buffer | undefined;
      let request: AuthorizationRequest;
      if (service === 'dynamodb') {
        body = await readBody(req, MAX_DYNAMODB_BODY_BYTES);
        const parsed = body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
        request = dynamoDbRequest(account, String(req.headers['x-amz-target'] ?? ''), parsed);
      } else {
        request = s3Request(req.method ?? 'GET', url);
      }
      const decision = await iam.authorize(caller, request);
      if (!decision.allowed) {
        options.onDenied?.(`[local IAM] denied ${request.action} on ${request.resources.join(', ')}: ${decision.message}`);
        deny(service, res, caller, decision.message);
        return;
      }
      forward(req, res, options.upstreamPort, service === 's3' ? asEmulatorKey(req.headers, url, accessKeyId) : { headers: req.headers, path: url.pathname + url.search }, body);
    };
    check().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`local IAM gate: ${String(error)}`);
    });
  };
}
