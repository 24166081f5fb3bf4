/**
 * What an AWS API request asks for, in IAM's terms: the action and the resource ARNs, read from
 * the request as the service would read it (DynamoDB and SQS from the JSON body and
 * X-Amz-Target, S3 from the method, path and query, Lambda from the path).
 */
import type { AuthorizationRequest } from './iam';

export interface Account {
  region: string;
  accountId: string;
}

type JsonBody = Record<string, unknown>;

function tableArn(account: Account, table: string): string {
  return `arn:aws:dynamodb:${account.region}:${account.accountId}:table/${table}`;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** DynamoDB (JSON 1.0): `X-Amz-Target: DynamoDB_20120810.<Operation>`. */
export function dynamoDbRequest(account: Account, target: string, body: JsonBody): AuthorizationRequest {
  const operation = target.split('.').pop() ?? '';
  const action = `dynamodb:${operation}`;
  if (operation === 'ListTables') return { action, resources: ['*'] };
  if (operation === 'BatchGetItem' || operation === 'BatchWriteItem') {
    const tables = Object.keys((body.RequestItems as JsonBody | undefined) ?? {});
    return { action, resources: tables.map((table) => tableArn(account, table)) };
  }
  if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
    // Each item is checked as its own action (PutItem, Update, ...) on AWS; the local stack has no use of them.
    throw new Error(`${operation} is not supported by the local IAM gate.`);
  }
  const table = tableArn(account, text(body.TableName));
  const index = text(body.IndexName);
  return { action, resources: [index && (operation === 'Query' || operation === 'Scan') ? `${table}/index/${index}` : table] };
}

/** S3, path style (`/bucket/key`), as the SDK sends it to a custom endpoint. */
export function s3Request(method: string, url: URL): AuthorizationRequest {
  const [bucket = '', ...keyParts] = url.pathname.slice(1).split('/');
  const key = keyParts.map((part) => decodeURIComponent(part)).join('/');
  const query = url.searchParams;
  if (bucket === '') return { action: 's3:ListAllMyBuckets', resources: ['*'] };
  const bucketArn = `arn:aws:s3:::${decodeURIComponent(bucket)}`;
  if (keyParts.length === 0 || key === '') {
    const bucketAction: Record<string, string> = {
      GET: query.has('uploads') ? 's3:ListBucketMultipartUploads' : 's3:ListBucket',
      HEAD: 's3:ListBucket',
      PUT: 's3:CreateBucket',
      DELETE: 's3:DeleteBucket',
      POST: 's3:DeleteObject',
    };
    return { action: bucketAction[method] ?? `s3:Unknown${method}`, resources: [bucketArn] };
  }
  const objectArn = `${bucketArn}/${key}`;
  const uploadId = query.has('uploadId');
  const objectAction: Record<string, string> = {
    GET: uploadId ? 's3:ListMultipartUploadParts' : 's3:GetObject',
    HEAD: 's3:GetObject',
    // CreateMultipartUpload, UploadPart and CompleteMultipartUpload are all s3:PutObject.
    PUT: 's3:PutObject',
    POST: 's3:PutObject',
    DELETE: uploadId ? 's3:AbortMultipartUpload' : 's3:DeleteObject',
  };
  return { action: objectAction[method] ?? `s3:Unknown${method}`, resources: [objectArn] };
}

/** Lambda: `POST /2015-03-31/functions/{name or ARN}/invocations`. */
export function lambdaRequest(account: Account, method: string, url: URL): AuthorizationRequest | undefined {
  const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/.exec(url.pathname);
  if (method !== 'POST' || !match?.[1]) return undefined;
  const name = decodeURIComponent(match[1]);
  const arn = name.startsWith('arn:') ? name.replace(/:\$LATEST$/, '') : `arn:aws:lambda:${account.region}:${account.accountId}:function:${name}`;
  return { action: 'lambda:InvokeFunction', resources: [arn] };
}

/** The function name an invocation path names (a name or an ARN). */
export function invokedFunctionName(url: URL): string | undefined {
  const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/.exec(url.pathname);
  if (!match?.[1]) return undefined;
  const name = decodeURIComponent(match[1]);
  return name.startsWith('arn:') ? (name.split(':')[6] ?? name) : name;
}

/** SQS (JSON 1.0): `X-Amz-Target: AmazonSQS.<Operation>`, the queue named by QueueUrl or QueueName. */
export function sqsRequest(account: Account, target: string, body: JsonBody): AuthorizationRequest {
  const operation = target.split('.').pop() ?? '';
  const queue = text(body.QueueName) || text(body.QueueUrl).split('/').pop() || '';
  const action = `sqs:${operation === 'GetQueueUrl' ? 'GetQueueUrl' : operation.replace(/Batch$/, '')}`;
  if (operation === 'ListQueues') return { action, resources: ['*'] };
  return { action, resources: [`arn:aws:sqs:${account.region}:${account.accountId}:${queue}`] };
}
