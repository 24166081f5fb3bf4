/**
 * Deploy settings written once in `.env.<stage>` hold for every later deploy: `serverless package`
 * reads the file (useDotenv) from a fresh shell, a variable set in the shell wins over it, and the
 * scripts take the region as the deploy does (--region, else AWS_REGION from the shell or the file).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOY_SETTINGS, regionFor, stageSettings } from '../../../scripts/deploy/settings';
import { packageService } from '../../../scripts/local-aws/packaging';

const root = path.resolve(__dirname, '../../..');
// A stage of this test's own, so its file never meets a developer's .env.stag.
const stage = `settings${process.pid}`;
const settingsFile = path.join(root, `.env.${stage}`);
const folders: string[] = [];
type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

async function packagedFromFreshShell(shell: Record<string, string> = {}): Promise<Resources> {
  const outDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-settings-'));
  folders.push(outDir);
  await packageService({ stage, outDir, env: shell, unset: Object.keys(DEPLOY_SETTINGS).filter((name) => !(name in shell)) });
  return JSON.parse(readFileSync(path.join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')).Resources as Resources;
}

afterAll(() => {
  rmSync(settingsFile, { force: true });
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

describe('deploy settings in .env.<stage>', () => {
  let first: Resources;
  let second: Resources;

  beforeAll(async () => {
    writeFileSync(
      settingsFile,
      [
        '# written once, by an operator',
        'ALARM_EMAIL=ops@example.com',
        'CUSTOM_DOMAIN_NAME=paas.example.com',
        'CUSTOM_DOMAIN_CERTIFICATE_ARN=arn:aws:acm:us-east-1:123456789012:certificate/abc',
        'FETCH_RESERVED_CONCURRENCY=7',
        'ALARM_FETCH_ERRORS=3',
        '',
      ].join('\n'),
    );
    first = await packagedFromFreshShell();
    second = await packagedFromFreshShell({ ALARM_FETCH_ERRORS: '9' });
  });

  it('are packaged from a fresh shell: the e-mail subscription, the custom domain and the reservation', () => {
    expect(first.AlarmsEmailSubscription?.Properties).toMatchObject({ Protocol: 'email', Endpoint: 'ops@example.com' });
    expect(first.ApiDomainName?.Properties).toMatchObject({ DomainName: 'paas.example.com' });
    expect(Number(first.FetchLambdaFunction?.Properties.ReservedConcurrentExecutions)).toBe(7);
    expect(Number(first.FetchErrorsAlarm?.Properties.Threshold)).toBe(3);
  });

  it('survive packaging again from another fresh shell, where a variable set in the shell wins over the file', () => {
    expect(second.AlarmsEmailSubscription?.Properties).toMatchObject({ Endpoint: 'ops@example.com' });
    expect(second.ApiDomainName?.Properties).toMatchObject({ DomainName: 'paas.example.com' });
    expect(Number(second.FetchLambdaFunction?.Properties.ReservedConcurrentExecutions)).toBe(7);
    expect(Number(second.FetchErrorsAlarm?.Properties.Threshold)).toBe(9);
  });
});

describe('the settings and the region the scripts see', () => {
  let directory: string;

  beforeAll(() => {
    directory = mkdtempSync(path.join(tmpdir(), 'bkpaas-settings-file-'));
    writeFileSync(path.join(directory, '.env.stag'), 'AWS_REGION=eu-central-1\nALARM_EMAIL="ops@example.com"\n');
    writeFileSync(path.join(directory, '.env'), 'AWS_REGION=ap-south-1\n');
  });

  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('say where each value comes from: the shell, the stage file, else the default', () => {
    const settings = stageSettings('stag', { ALARM_FETCH_ERRORS: '8' }, directory);
    expect(settings.value('ALARM_FETCH_ERRORS')).toEqual({ value: '8', source: 'shell' });
    expect(settings.value('ALARM_EMAIL')).toEqual({ value: 'ops@example.com', source: '.env.stag' });
    expect(settings.value('APIGW_CLOUDWATCH_ROLE')).toEqual({ value: 'existing', source: 'default' });
  });

  it('take the region from --region, else AWS_REGION in the shell, else the stage file, else .env, else us-east-1', () => {
    expect(regionFor('stag', 'sa-east-1', { AWS_REGION: 'us-west-2' }, directory)).toBe('sa-east-1');
    expect(regionFor('stag', undefined, { AWS_REGION: 'us-west-2' }, directory)).toBe('us-west-2');
    expect(regionFor('stag', undefined, {}, directory)).toBe('eu-central-1');
    expect(regionFor('prod', undefined, {}, directory)).toBe('ap-south-1');
    expect(regionFor('stag', undefined, {}, path.join(directory, 'none'))).toBe('us-east-1');
  });

  it('let npm run invoke reach a deployed stage with --region, where it answered "Region is missing"', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9' };
    delete env.AWS_REGION;
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/invoke.ts', 'link', 'events/link-rest-api.json', '--stage', `none${process.pid}`, '--region', 'eu-west-1'], { cwd: root, env, timeout: 60_000 });

    const failure = (await run.then(() => ({ stderr: '' }), (error: { stderr: string }) => error)) as { stderr: string };
    expect(failure.stderr).not.toMatch(/Region is missing/);
    expect(failure.stderr).toMatch(/ECONNREFUSED/);
  });
});
