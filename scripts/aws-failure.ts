/**
 * Why an operator tool's call to AWS (or to the local stack) failed, in one line that names the
 * cause and what to do: no credentials, credentials refused, nothing listening, a missing table.
 * The service's own answer ("storage unavailable; safe to retry") is right for a client of the
 * API and wrong for an operator, for whom retrying never helps in these cases.
 */
import type { MiddlewareStack } from '@aws-sdk/types';

export interface CallTarget {
  /** `DynamoDB`, `SQS`, `Lambda`. */
  service: string;
  /** What the call worked on, as a person names it: `the table bkpaas-…-tokens`. */
  resource: string;
  stage: string;
  region: string;
  /** The endpoint called when not AWS's own (the local stack's). */
  endpoint?: string;
}

/** What each failed call worked on, set by the client that made it (nameFailures). */
const failedTargets = new WeakMap<object, CallTarget>();

/**
 * Marks every failure of the calls a client makes (its middleware stack) with what the client
 * works on: a tool that calls a queue, a table and a function then names the one that failed,
 * not the first it called.
 */
export function nameFailures<Input extends object, Output extends object>(stack: MiddlewareStack<Input, Output>, target: CallTarget): void {
  stack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (error !== null && typeof error === 'object' && !failedTargets.has(error)) failedTargets.set(error, target);
        throw error;
      }
    },
    { step: 'initialize', name: 'nameFailures' },
  );
}

const REFUSED_CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidAccessKeyId',
]);
const MISSING = new Set(['ResourceNotFoundException', 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET']);

/** The error and its causes, outermost first (StorageUnavailableError keeps the SDK's as `cause`). */
interface Failure {
  name?: string;
  code?: string;
  message?: string;
  errors?: unknown[];
  /** Where a connection failed (Node's network errors). */
  address?: string;
  port?: number;
}

function chain(error: unknown): Failure[] {
  const found: Failure[] = [];
  for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < 5; depth += 1) {
    const entry = current as Failure & { cause?: unknown };
    found.push(entry);
    // Node answers a refused connection to a name with several addresses as an AggregateError.
    if (Array.isArray(entry.errors)) found.push(...(entry.errors as Failure[]));
    current = entry.cause;
  }
  return found;
}

/** The line to print, or undefined when the cause is none of the known ones. `target` unless the failed call's client named its own. */
export function explainFailure(error: unknown, fallback: CallTarget): string | undefined {
  const errors = chain(error);
  const target = errors.map((entry) => failedTargets.get(entry)).find((named) => named !== undefined) ?? fallback;
  const where = target.endpoint ?? `${target.service} in ${target.region}`;
  const unreachable = errors.find((entry) => entry.code !== undefined && UNREACHABLE.has(entry.code));
  if (unreachable) {
    // A tool may call several services: the failed connection's own address says which one.
    const called = unreachable.port === undefined ? where : `http://${unreachable.address ?? '127.0.0.1'}:${unreachable.port}`;
    const ours = target.endpoint === undefined || target.endpoint.endsWith(`:${unreachable.port}`);
    const detail = ours ? `the local ${target.service}, ${unreachable.code}` : unreachable.code;
    return target.stage === 'local'
      ? `Nothing answers at ${called} (${detail}): the local stack is not running there. Start it with \`npm start\`, or set its port (see npm start -- --help).`
      : `Cannot reach ${called} (${unreachable.code}): check the network, --region and any AWS_ENDPOINT_URL setting.`;
  }
  if (errors.some((entry) => entry.name === 'CredentialsProviderError' || /Could not load credentials/.test(entry.message ?? ''))) {
    return `No AWS credentials for stage ${target.stage}: the SDK looked for AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE (~/.aws/credentials, ~/.aws/config, SSO), a web identity token and the container and instance metadata. Set one, e.g. AWS_PROFILE=NAME.`;
  }
  const refused = errors.find((entry) => entry.name !== undefined && REFUSED_CREDENTIALS.has(entry.name));
  if (refused) {
    return `${where} refused the credentials (${refused.name}: ${refused.message}): check AWS_PROFILE, or AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, for stage ${target.stage}.`;
  }
  const missing = errors.find((entry) => entry.name !== undefined && MISSING.has(entry.name));
  if (missing) {
    const hint = target.stage === 'local' ? 'npm start creates it: is the stack on that port this project\'s?' : 'deploy the stage first, or check --stage and --region.';
    return `${target.resource} does not exist in stage ${target.stage} (${where}, ${missing.name}): ${hint}`;
  }
  const denied = errors.find((entry) => entry.name === 'AccessDeniedException' || entry.name === 'AccessDenied');
  if (denied) {
    return `The credentials may not use ${target.resource.charAt(0).toLowerCase()}${target.resource.slice(1)} (${denied.name}: ${denied.message}); docs/deploy-policy.json lists what the operator tools need.`;
  }
  return undefined;
}
