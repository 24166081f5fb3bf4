/**
 * What the local account says about itself, as AWS says it, so that `npm run preflight` runs
 * against the local stack as against an account: Lambda's account settings (the concurrency quota,
 * what is left unreserved) and a function's reserved concurrency, on the Lambda API's port; API
 * Gateway's account (its CloudWatch logging role) and ACM's certificates, on the control port.
 *
 * The quota is configurable (LOCAL_LAMBDA_CONCURRENCY_QUOTA, 1000 by default, 10 as a new account
 * has), and the stack refuses to start when the template reserves more than the quota can spare,
 * with the message Lambda gives when it refuses to create such a function.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { MINIMUM_UNRESERVED_CONCURRENCY } from '../deploy/aws-limits';
import type { Account } from './aws-requests';
import { accessKeyOf, type IamAuthority } from './iam';
import type { LambdaFunction } from './lambda/functions';
import { readRequestBody } from './request-body';

export interface LocalCertificate {
  arn: string;
  domainName: string;
  status: string;
}

export interface LocalAccountOptions {
  concurrencyQuota: number;
  /** The API Gateway account's CloudWatch role; empty: none, as in a new account. */
  apiGatewayCloudWatchRoleArn: string;
  certificates: LocalCertificate[];
}

/** LOCAL_LAMBDA_CONCURRENCY_QUOTA, LOCAL_APIGW_CLOUDWATCH_ROLE_ARN, LOCAL_ACM_CERTIFICATES (`ARN=DOMAIN:STATUS,…`). */
export function localAccountOptions(env: NodeJS.ProcessEnv): LocalAccountOptions {
  const quotaText = env.LOCAL_LAMBDA_CONCURRENCY_QUOTA?.trim() || '1000';
  const concurrencyQuota = Number(quotaText);
  if (!Number.isInteger(concurrencyQuota) || concurrencyQuota < 1) throw new Error(`LOCAL_LAMBDA_CONCURRENCY_QUOTA must be a positive whole number, got "${quotaText}".`);
  const certificates = (env.LOCAL_ACM_CERTIFICATES ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const match = /^(arn:[^=]+)=([^:=]+)(?::([A-Z_]+))?$/.exec(entry);
      if (!match?.[1] || !match[2]) throw new Error(`LOCAL_ACM_CERTIFICATES: "${entry}" is not ARN=DOMAIN[:STATUS].`);
      return { arn: match[1], domainName: match[2], status: match[3] ?? 'ISSUED' };
    });
  return { concurrencyQuota, apiGatewayCloudWatchRoleArn: env.LOCAL_APIGW_CLOUDWATCH_ROLE_ARN?.trim() ?? '', certificates };
}

function reserved(functions: LambdaFunction[]): number {
  return functions.reduce((sum, fn) => sum + (fn.reservedConcurrency ?? 0), 0);
}

/** Lambda's refusal of a reservation the account cannot spare, or undefined when every one fits. */
export function reservationRefusal(functions: LambdaFunction[], quota: number): string | undefined {
  let total = 0;
  for (const fn of functions) {
    if (fn.reservedConcurrency === undefined) continue;
    total += fn.reservedConcurrency;
    if (quota - total < MINIMUM_UNRESERVED_CONCURRENCY) {
      return `InvalidParameterValueException: Specified ReservedConcurrentExecutions for function ${fn.name} decreases account's UnreservedConcurrentExecution below its minimum value of [${MINIMUM_UNRESERVED_CONCURRENCY}].`;
    }
  }
  return undefined;
}

/** The control plane's requests are a certificate ARN at most; anything near this is not one. */
const MAX_BODY_BYTES = 64 * 1024;

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers }).end(JSON.stringify(body));
}

/**
 * Lambda's `GET /2016-08-19/account-settings/` and `GET /2019-09-30/functions/{name}/concurrency`;
 * false when the request is neither (the Invoke API handles it).
 */
export function answerLambdaAccountCall(req: http.IncomingMessage, res: http.ServerResponse, functions: LambdaFunction[], options: LocalAccountOptions & { iam: IamAuthority }): boolean {
  if (req.method !== 'GET') return false;
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const { pathname } = url;
  if (!/^\/(2016-08-19\/account-settings|2019-09-30\/functions\/[^/]+\/concurrency)\/?$/.test(pathname)) return false;
  // The functions' roles grant neither call: only the account's administrator reads them here.
  if (options.iam.callerOf(accessKeyOf(req.headers, url)).kind !== 'admin') {
    json(res, 403, { Type: 'User', message: 'The local Lambda answers account calls for the account administrator only.' }, { 'x-amzn-errortype': 'AccessDeniedException' });
    return true;
  }
  if (/^\/2016-08-19\/account-settings\/?$/.test(pathname)) {
    const codeSize = functions.length * 1_000_000;
    json(res, 200, {
      AccountLimit: {
        TotalCodeSize: 80_530_636_800,
        CodeSizeUnzipped: 262_144_000,
        CodeSizeZipped: 52_428_800,
        ConcurrentExecutions: options.concurrencyQuota,
        UnreservedConcurrentExecutions: options.concurrencyQuota - reserved(functions),
      },
      AccountUsage: { TotalCodeSize: codeSize, FunctionCount: functions.length },
    });
    return true;
  }
  const concurrency = /^\/2019-09-30\/functions\/([^/]+)\/concurrency\/?$/.exec(pathname);
  if (concurrency?.[1]) {
    const name = decodeURIComponent(concurrency[1]);
    const fn = functions.find((candidate) => candidate.name === name || candidate.arn === name);
    if (!fn) json(res, 404, { Type: 'User', message: `Function not found: ${name}` }, { 'x-amzn-errortype': 'ResourceNotFoundException' });
    else json(res, 200, fn.reservedConcurrency === undefined ? {} : { ReservedConcurrentExecutions: fn.reservedConcurrency });
    return true;
  }
  return false;
}

/** API Gateway's `GET /account` and ACM's `DescribeCertificate`, for the local account's administrator. */
export function controlPlaneListener(options: LocalAccountOptions & { iam: IamAuthority; account: Account }): http.RequestListener {
  return (req, res) => {
    void readRequestBody(req, MAX_BODY_BYTES).then(({ bytes }) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const caller = options.iam.callerOf(accessKeyOf(req.headers, url));
      const target = String(req.headers['x-amz-target'] ?? '');
      if (caller.kind !== 'admin') {
        return json(res, 403, { __type: 'AccessDeniedException', message: 'The local control plane answers the account administrator only.' }, { 'x-amzn-errortype': 'AccessDeniedException' });
      }
      if (!bytes) return json(res, 400, { __type: 'ValidationException', message: `The request exceeds ${MAX_BODY_BYTES} bytes.` });
      if (req.method === 'GET' && /^\/account\/?$/.test(url.pathname)) {
        return json(res, 200, {
          ...(options.apiGatewayCloudWatchRoleArn ? { cloudwatchRoleArn: options.apiGatewayCloudWatchRoleArn } : {}),
          throttleSettings: { burstLimit: 5000, rateLimit: 10000 },
          features: ['UsagePlans'],
          apiKeyVersion: '4',
        });
      }
      if (req.method === 'POST' && target === 'CertificateManager.DescribeCertificate') {
        let body: { CertificateArn?: string } = {};
        try {
          body = JSON.parse(bytes.toString('utf8') || '{}') as { CertificateArn?: string };
        } catch {
          return json(res, 400, { __type: 'SerializationException', message: 'Malformed JSON' });
        }
        const certificate = options.certificates.find((candidate) => candidate.arn === body.CertificateArn);
        if (!certificate) return json(res, 400, { __type: 'ResourceNotFoundException', message: `Could not find certificate ${body.CertificateArn ?? ''}.` });
        return json(res, 200, {
          Certificate: {
            CertificateArn: certificate.arn,
            DomainName: certificate.domainName,
            SubjectAlternativeNames: [certificate.domainName],
            Status: certificate.status,
            Type: 'AMAZON_ISSUED',
            KeyAlgorithm: 'RSA_2048',
            InUseBy: [],
          },
        });
      }
      json(res, 400, { __type: 'UnknownOperationException', message: `The local control plane does not answer ${req.method} ${url.pathname} ${target}`.trim() });
    });
  };
}
