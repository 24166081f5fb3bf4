/**
 * Cold-start floor for `authorize` and `jobStatus`: only the SDK client they need (DynamoDB), built as
 * lib/core/aws-clients.ts builds it, and a handler that does nothing.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const clients = [new DynamoDBClient({ region: process.env.AWS_REGION })];
export const handler = async (): Promise<void> => undefined;
