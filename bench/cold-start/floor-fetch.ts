/**
 * Cold-start floor for `fetch`: only the SDK clients it needs (S3, DynamoDB), built as
 * lib/core/aws-clients.ts builds them, and a handler that does nothing. The multipart uploader is
 * not a client and is left out: what it costs counts as the function's own.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';

const region = process.env.AWS_REGION;
export const clients = [
  new S3Client({ region, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }),
  new DynamoDBClient({ region }),
];
export const handler = async (): Promise<void> => undefined;
