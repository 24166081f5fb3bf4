/**
 * Invokes one function with a sample event and prints its answer: `npm run invoke -- FUNCTION
 * EVENT_FILE [--stage STAGE] [--region REGION]`. With `--stage local` (the default) it goes through
 * the running local stack's Lambda API (LAMBDA_PORT), so the function runs as `npm start` runs it:
 * its template environment, role and limits. Other stages invoke the deployed function with the
 * AWS SDK's usual credentials, in the region a deploy of the stage takes (--region, else
 * AWS_REGION from the shell or `.env.<stage>`, else us-east-1). (`serverless invoke local` cannot stand in: it does not
 * resolve the template's CloudFormation references in the functions' environment.)
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './local-emulators';
import { regionFor } from './deploy/settings';
import { SERVICE } from './local-aws/packaging';

const FUNCTIONS = ['authorize', 'link', 'fetch', 'fetchFailures', 'packages', 'jobStatus'];
const USAGE = `usage: npm run invoke -- FUNCTION EVENT_FILE [--stage STAGE] [--region REGION]

Invokes ${SERVICE}-STAGE-FUNCTION with the JSON event in EVENT_FILE (events/ holds samples)
and prints its answer. FUNCTION is one of ${FUNCTIONS.join(', ')}.
  --stage STAGE   local (default: the running local stack, LAMBDA_PORT) or a deployed stage
                  (the AWS SDK's credentials)
  --region REGION the deployed stage's region, as deploy takes it (else AWS_REGION from
                  the shell or .env.STAGE, else us-east-1)

  npm run invoke -- link events/link-rest-api.json
  npm run invoke -- fetch events/fetch-direct.json`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed: { values: { stage?: string; region?: string; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({ options: { stage: { type: 'string' }, region: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (error) {
    fail((error as Error).message);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return;
  }
  const [fn, eventFile] = parsed.positionals;
  if (!fn || !FUNCTIONS.includes(fn)) fail(`FUNCTION must be one of ${FUNCTIONS.join(', ')}.`);
  if (!eventFile) fail('EVENT_FILE is required.');
  let payload: string;
  try {
    payload = JSON.stringify(JSON.parse(readFileSync(eventFile, 'utf8')));
  } catch (error) {
    fail(`${eventFile} is not a readable JSON file: ${(error as Error).message}`);
  }
  const stage = parsed.values.stage ?? 'local';
  const lambda =
    stage === 'local'
      ? new LambdaClient({ region: LOCAL_REGION, endpoint: `http://127.0.0.1:${process.env.LAMBDA_PORT || 3002}`, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 })
      : new LambdaClient({ region: regionFor(stage, parsed.values.region) });
  try {
    const answer = await lambda.send(new InvokeCommand({ FunctionName: `${SERVICE}-${stage}-${fn}`, Payload: Buffer.from(payload) }));
    const text = Buffer.from(answer.Payload ?? new Uint8Array()).toString('utf8');
    let shown = text;
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Not JSON: print it as it came.
    }
    console.log(shown);
    if (answer.FunctionError) {
      console.error(`The function failed (${answer.FunctionError}).`);
      process.exitCode = 1;
    }
  } finally {
    lambda.destroy();
  }
}

main().catch((error: unknown) => {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`Invoke failed: ${reason}${/ECONNREFUSED/.test(reason) ? ' (is `npm start` running?)' : ''}`);
  process.exit(1);
});
