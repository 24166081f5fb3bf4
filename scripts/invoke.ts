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
import { readAuthorizerEvent } from '../lib/auth/authorizer-event';
import { argumentsOrExit } from './command-line';
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
  npm run invoke -- fetch events/fetch-direct.json
  npm run invoke -- authorize events/authorizer-request.json`;

/** What the event lacks for the function, as API Gateway or Lambda would have sent it. */
function eventProblem(fn: string, event: unknown): string | undefined {
  if (fn === 'authorize') {
    const read = readAuthorizerEvent(event);
    return 'problem' in read ? read.problem : undefined;
  }
  return typeof event === 'object' && event !== null && !Array.isArray(event) ? undefined : 'the event is not a JSON object';
}

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parsedError(text: string): string {
  try {
    const record = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
    if (typeof record.errorMessage === 'string') return `${typeof record.errorType === 'string' ? record.errorType : 'Error'}: ${record.errorMessage}`;
  } catch {
    // Not Lambda's record: shown as it came.
  }
  return text;
}

async function main(): Promise<void> {
  const parsed = argumentsOrExit({ stage: { type: 'string' }, region: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (!parsed) return;
  const [fn, eventFile] = parsed.positionals;
  if (!fn || !FUNCTIONS.includes(fn)) fail(`FUNCTION must be one of ${FUNCTIONS.join(', ')}.`);
  if (!eventFile) fail('EVENT_FILE is required.');
  let event: unknown;
  try {
    event = JSON.parse(readFileSync(eventFile, 'utf8'));
  } catch (error) {
    fail(`${eventFile} is not a readable JSON file: ${(error as Error).message}`);
  }
  const payload = JSON.stringify(event);
  // Said, then sent anyway: what the function answers such an event is worth seeing too.
  const problem = eventProblem(fn, event);
  if (problem) console.error(`${eventFile}: ${problem} (events/ holds samples).`);
  const stage = parsed.values.stage ?? 'local';
  const lambda =
    stage === 'local'
      ? new LambdaClient({ region: LOCAL_REGION, endpoint: `http://127.0.0.1:${process.env.LAMBDA_PORT || 3002}`, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 })
      : new LambdaClient({ region: regionFor(stage, parsed.values.region) });
  try {
    const answer = await lambda.send(new InvokeCommand({ FunctionName: `${SERVICE}-${stage}-${fn}`, Payload: Buffer.from(payload) }));
    const text = Buffer.from(answer.Payload ?? new Uint8Array()).toString('utf8');
    if (answer.FunctionError) {
      // Lambda's error record: its type and message in one line; the trace is in the function's log.
      const record = parsedError(text);
      console.error(`The function failed (${answer.FunctionError}): ${record}`);
      process.exitCode = 1;
      return;
    }
    let shown = text;
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Not JSON: print it as it came.
    }
    console.log(shown);
  } finally {
    lambda.destroy();
  }
}

main().catch((error: unknown) => {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`Invoke failed: ${reason}${/ECONNREFUSED/.test(reason) ? ' (is `npm start` running?)' : ''}`);
  process.exit(1);
});
