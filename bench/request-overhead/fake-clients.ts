/**
 * Stand-ins for the two clients `link` calls, so the request-overhead benchmark times link's own
 * work (event adaptation, multipart parsing, validation, the auth verdict, the answer) and not
 * the network. They are fakes, not the emulators: a real GetItem against dynalite or an invoke
 * through the local Lambda service costs milliseconds and would measure those programs instead, and the
 * worker's own cost is part 1's subject. Each answers as the real service would on the happy path.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';

interface SentCommand {
  input: { TableName?: string };
}

/** GetItem on the versions table finds nothing (a new version); on the tokens table, a valid token. */
export function fakeDynamoDb(tokensTable: string): DynamoDBClient {
  const tokenItem = {
    token_sha256: { S: 'bench' },
    token_id: { S: 'tok_bench' },
    principal: { S: 'bench' },
    apps: { L: [{ S: '*' }] },
    created: { S: '2026-01-01T00:00:00.000Z' },
    revoked: { BOOL: false },
  };
  const fake = {
    send: (command: SentCommand) => Promise.resolve(command.input.TableName === tokensTable ? { Item: tokenItem } : {}),
  };
  return fake as unknown as DynamoDBClient;
}

/** Every invoke succeeds at once with the worker's answer for a stored package. */
export function fakeLambda(version: string): LambdaClient {
  const payload = new TextEncoder().encode(
    JSON.stringify({
      job_id: 'bench-job',
      state: 'succeeded',
      package: {
        version,
        package_name: 'app-1.0.tar.gz',
        package_size: '4586',
        sha256_signature: 'a'.repeat(64),
        updated: '2026-01-01 00:00:00',
        created: '2026-01-01 00:00:00',
      },
    }),
  );
  const fake = { send: () => Promise.resolve({ StatusCode: 200, Payload: payload }) };
  return fake as unknown as LambdaClient;
}
