/**
 * Cold-start floor for `fetchFailures`: only the SDK clients it needs (DynamoDB, S3, SQS), and a
 * handler that does nothing.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

const region = process.env.AWS_REGION;
export const clients = [new DynamoDBClient({ region }), new S3Client({ region }), new SQSClient({ region })];
export const handler = async (): Promise<void> => undefined;
