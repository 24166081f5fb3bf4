/**
 * Cold-start floor for `link`: only the SDK clients it needs (DynamoDB, Lambda), built as
 * lib/core/aws-clients.ts builds them, and a handler that does nothing.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';

const region = process.env.AWS_REGION;
export const clients = [new DynamoDBClient({ region }), new LambdaClient({ region, maxAttempts: 1 })];
export const handler = async (): Promise<void> => undefined;
