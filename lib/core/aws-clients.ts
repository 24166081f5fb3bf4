/**
 * AWS SDK clients, built once per container from the configuration. Endpoints are only set
 * for the local emulators; on AWS the SDK's defaults apply.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { Config } from './config';

/** Only tests and local scripts pass credentials; on Lambda they come from the role. */
type ClientConfig = Pick<Config, 'region' | 'endpoints'> & { credentials?: AwsCredentialIdentity };

/** What every client takes: the region, credentials when given, and an emulator's endpoint when set. */
function commonOptions(config: ClientConfig, endpoint: string | undefined) {
  return { region: config.region, ...(config.credentials ? { credentials: config.credentials } : {}), ...(endpoint ? { endpoint } : {}) };
}

export function createS3Client(config: ClientConfig): S3Client {
  const s3 = new S3Client({
    ...commonOptions(config, config.endpoints.s3),
    ...(config.endpoints.s3 ? { forcePathStyle: true } : {}),
    // The archive's SHA-256 is computed in the stream; per-part CRCs would cost CPU for nothing,
    // and s3rver would store aws-chunked framing as the object's bytes (docs/design.md#dependencies-and-why).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // With `Expect: 100-continue` (the SDK's default for bodies from 2 MiB) the SDK sends each
    // part on a new connection that is closed after it: a TCP and TLS handshake per 8 MiB part.
    // Without it every part reuses the kept-alive connections; a refusal then comes after the
    // part's bytes instead of before, and the upload is aborted as on any failure.
    expectContinueHeader: false,
  });
  // SigV4 would hash every 8 MiB part again only to sign it; the stream already computes the
  // archive's SHA-256, and TLS protects the bytes in transit. Saves about 2 s of CPU per GiB.
  // Only requests that carry a body: a presigned GET gets the parameter from the presigner, and
  // setting it here too would put it in the URL twice.
  s3.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { method?: string; headers?: Record<string, string> };
      if (request.headers && (request.method === 'PUT' || request.method === 'POST')) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'unsignedPayload' },
  );
  return s3;
}

export function createDynamoDbClient(config: ClientConfig): DynamoDBClient {
  return new DynamoDBClient(commonOptions(config, config.endpoints.dynamodb));
}

export function createLambdaClient(config: ClientConfig): LambdaClient {
  return new LambdaClient({
    ...commonOptions(config, config.endpoints.lambda),
    // The worker may stream for minutes: never let the SDK retry an invocation on its own.
    maxAttempts: 1,
  });
}

/** The queue's URL names its endpoint (the SDK sends to it), on AWS and on the local stack alike. */
export function createSqsClient(config: ClientConfig): SQSClient {
  return new SQSClient(commonOptions(config, undefined));
}

/**
 * The worker's announcements of a job's end. The publisher retries on its own, within a budget
 * (lib/jobs/event-publisher.ts): the SDK's retries would not be bounded by it, and a bus that does
 * not answer must not hold the socket past it.
 */
export function createEventBridgeClient(config: ClientConfig): EventBridgeClient {
  return new EventBridgeClient({
    ...commonOptions(config, config.endpoints.events),
    maxAttempts: 1,
    // Without throwOnRequestTimeout this SDK only warns when a request passes requestTimeout.
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
  });
}
