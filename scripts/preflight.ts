/**
 * `npm run preflight -- --stage STAGE [--region REGION]`: reads, before a deploy, what the account
 * says about what the stack depends on (Lambda's concurrency quota and what is unreserved, the
 * API Gateway account's CloudWatch role, the custom domain certificate's region and status) and
 * the deploy settings in effect (the shell over `.env.<stage>`, as `serverless deploy` reads them),
 * and says what would fail and what to set. Exit status 1 when something would fail.
 *
 * It uses the AWS SDK's usual credentials, in the region deploy takes (--region, else AWS_REGION
 * from the shell or the stage's file); the SDK's AWS_ENDPOINT_URL_<SERVICE> variables point it
 * elsewhere (the tests point it at the local stack). It only reads.
 */
import { ACMClient, DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { optionsOrExit } from './command-line';
import { preflightFindings, type AccountReadings, type Finding, type Reading } from './deploy/preflight-checks';
import { DEPLOY_SETTINGS, regionFor, stageSettings } from './deploy/settings';
import { SERVICE } from './local-aws/packaging';

const USAGE = `usage: npm run preflight -- --stage STAGE [--region REGION]

Reads what a deploy of STAGE depends on in the account (Lambda's concurrency quota, API Gateway's
CloudWatch role, the custom domain's certificate) and the deploy settings in effect (the shell over
.env.STAGE), and says what would fail and what to set. Only reads; exit status 1 if something
would fail. Uses the AWS SDK's credentials.
  --region REGION   as deploy takes it (else AWS_REGION from the shell or .env.STAGE, else us-east-1)`;

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function read<T>(call: () => Promise<T>): Promise<Reading<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error: errorText(error) };
  }
}

async function readAccount(stage: string, region: string, certificateArn: string): Promise<AccountReadings> {
  const base = { region, maxAttempts: 2 };
  const lambda = new LambdaClient(base);
  const apiGateway = new APIGatewayClient(base);
  const acm = new ACMClient(base);
  try {
    const [settings, fetchReservation, apiGatewayRole, certificate] = await Promise.all([
      read(async () => {
        const answer = await lambda.send(new GetAccountSettingsCommand({}));
        return { quota: answer.AccountLimit?.ConcurrentExecutions ?? 0, unreserved: answer.AccountLimit?.UnreservedConcurrentExecutions ?? 0 };
      }),
      read(async () => {
        try {
          return (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: `${SERVICE}-${stage}-fetch` }))).ReservedConcurrentExecutions ?? 0;
        } catch (error) {
          if ((error as Error).name === 'ResourceNotFoundException') return 0; // not deployed yet
          throw error;
        }
      }),
      read(async () => (await apiGateway.send(new GetAccountCommand({}))).cloudwatchRoleArn || undefined),
      certificateArn
        ? read(async () => {
            try {
              const found = (await acm.send(new DescribeCertificateCommand({ CertificateArn: certificateArn }))).Certificate;
              return found ? { status: found.Status ?? 'UNKNOWN', domainName: found.DomainName ?? '', alternativeNames: found.SubjectAlternativeNames ?? [] } : undefined;
            } catch (error) {
              if ((error as Error).name === 'ResourceNotFoundException') return undefined;
              throw error;
            }
          })
        : Promise.resolve(undefined),
    ]);
    return { region, lambda: settings, fetchReservation, apiGatewayRole, ...(certificate ? { certificate } : {}) };
  } finally {
    lambda.destroy();
    apiGateway.destroy();
    acm.destroy();
  }
}

const MARK: Record<Finding['verdict'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

async function main(): Promise<number> {
  const values = optionsOrExit({ stage: { type: 'string' }, region: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (!values) return 0;
  const stage = values.stage?.trim();
  if (!stage) {
    console.error(`--stage is required.\n\n${USAGE}`);
    return 2;
  }
  const region = regionFor(stage, values.region);
  const settings = stageSettings(stage);
  console.log(`Preflight for ${SERVICE} stage ${stage} in ${region}`);
  console.log(`\nDeploy settings in effect (the shell over ${settings.file ? settings.file.split('/').pop() : `.env.${stage}, which does not exist`}):`);
  const width = Math.max(...Object.keys(DEPLOY_SETTINGS).map((name) => name.length));
  for (const name of Object.keys(DEPLOY_SETTINGS)) {
    const { value, source } = name === 'AWS_REGION' ? { value: region, source: values.region ? 'command line' : settings.value(name).source } : settings.value(name);
    console.log(`  ${name.padEnd(width)}  ${(value === '' ? '(none)' : value).padEnd(24)}  ${source}`);
  }
  const readings = await readAccount(stage, region, settings.values.CUSTOM_DOMAIN_NAME?.trim() ? (settings.values.CUSTOM_DOMAIN_CERTIFICATE_ARN?.trim() ?? '') : '');
  const sources = Object.fromEntries(Object.keys(DEPLOY_SETTINGS).map((name) => [name, settings.value(name).source]));
  const findings = preflightFindings({ stage, values: { ...settings.values, AWS_REGION: region }, sources }, readings);
  console.log('\nChecks:');
  for (const finding of findings) console.log(`  ${MARK[finding.verdict]}  ${finding.topic}: ${finding.message}`);
  const failing = findings.filter((finding) => finding.verdict === 'fail').length;
  console.log(failing === 0 ? '\nNothing found that would fail the deploy.' : `\n${failing} finding(s) would fail the deploy: fix them (in .env.${stage}) and run preflight again.`);
  return failing === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('preflight:', errorText(error));
    process.exit(2);
  },
);
