/**
 * The preflight verdicts on their own, from readings as the account gives them, and the local
 * stack's account rules: what a deploy would meet before CloudFormation meets it.
 */
import { describe, expect, it } from 'vitest';
import { certificateCovers, checkApiGatewayRole, checkLambdaConcurrency, checkSettings, type AccountReadings } from '../../../scripts/deploy/preflight-checks';
import { DEPLOY_SETTINGS } from '../../../scripts/deploy/settings';
import { localAccountOptions, reservationRefusal } from '../../../scripts/local-aws/account';
import type { LambdaFunction } from '../../../scripts/local-aws/lambda/functions';

const defaults = Object.fromEntries(Object.entries(DEPLOY_SETTINGS).map(([name, setting]) => [name, setting.default]));
const settings = (values: Record<string, string> = {}) => ({ stage: 'stag', values: { ...defaults, ALARM_EMAIL: 'ops@example.com', ...values } });

function readings(overrides: Partial<AccountReadings> = {}): AccountReadings {
  return {
    region: 'us-east-1',
    lambda: { ok: true, value: { quota: 1000, unreserved: 1000 } },
    fetchReservation: { ok: true, value: 0 },
    apiGatewayRole: { ok: true, value: 'arn:aws:iam::123456789012:role/apigateway-logs' },
    ...overrides,
  };
}

describe('the Lambda concurrency check', () => {
  it('counts the stage\'s current reservation back: a redeploy keeping 50 of 150 unreserved passes', () => {
    const findings = checkLambdaConcurrency(settings({ FETCH_RESERVED_CONCURRENCY: '50' }), readings({ lambda: { ok: true, value: { quota: 200, unreserved: 150 } }, fetchReservation: { ok: true, value: 50 } }));

    expect(findings[0]).toMatchObject({ verdict: 'ok', message: expect.stringContaining('fetch reserves 50, leaving 150') });
  });

  it('fails a reservation that leaves under 100 unreserved, and names the most the account can spare', () => {
    const findings = checkLambdaConcurrency(settings({ FETCH_RESERVED_CONCURRENCY: '80' }), readings({ lambda: { ok: true, value: { quota: 160, unreserved: 160 } } }));

    expect(findings[0]).toMatchObject({ verdict: 'fail', message: expect.stringContaining('Set FETCH_RESERVED_CONCURRENCY at most 60') });
  });

  it('warns, not fails, when the account settings cannot be read', () => {
    expect(checkLambdaConcurrency(settings(), readings({ lambda: { ok: false, error: 'AccessDeniedException: no' } }))).toEqual([
      expect.objectContaining({ verdict: 'warn', message: expect.stringContaining('lambda:GetAccountSettings') }),
    ]);
  });
});

describe('the API Gateway logging role check', () => {
  it("warns that create replaces the account's role when it has one", () => {
    expect(checkApiGatewayRole(settings({ APIGW_CLOUDWATCH_ROLE: 'create' }), readings())).toEqual([
      expect.objectContaining({ verdict: 'warn', message: expect.stringContaining('Set APIGW_CLOUDWATCH_ROLE=existing to keep it') }),
    ]);
  });

  it("fails existing when the account's role is the one this stack created, which the update would delete", () => {
    const own = readings({ apiGatewayRole: { ok: true, value: 'arn:aws:iam::123456789012:role/bkpaas-source-package-link-stag-ApiGatewayCloudW-1A2B3C4D5E6F' } });

    expect(checkApiGatewayRole(settings(), own)).toEqual([expect.objectContaining({ verdict: 'fail', message: expect.stringContaining('Set APIGW_CLOUDWATCH_ROLE=create in .env.stag') })]);
    expect(checkApiGatewayRole(settings({ APIGW_CLOUDWATCH_ROLE: 'create' }), own)).toEqual([expect.objectContaining({ verdict: 'ok' })]);
  });

  it('passes existing when the account has a role', () => {
    expect(checkApiGatewayRole(settings(), readings())).toEqual([expect.objectContaining({ verdict: 'ok' })]);
  });
});

describe('the settings check', () => {
  it('fails values serverless.yml cannot turn into a valid template', () => {
    const findings = checkSettings(settings({ APIGW_CLOUDWATCH_ROLE: 'yes', FETCH_RESERVED_CONCURRENCY: '0', CUSTOM_DOMAIN_NAME: 'paas.example.com', ALARM_FETCH_ERRORS: 'five', ALARM_EMAIL: 'ops' }));

    expect(findings.filter((finding) => finding.verdict === 'fail').map((finding) => finding.message.split(' ')[0])).toEqual(['APIGW_CLOUDWATCH_ROLE', 'FETCH_RESERVED_CONCURRENCY', 'CUSTOM_DOMAIN_NAME', 'ALARM_FETCH_ERRORS', 'ALARM_EMAIL']);
  });

  it('fails a reservation written empty, which serverless refuses, and not one left unset', () => {
    const empty = { ...settings(), sources: { FETCH_RESERVED_CONCURRENCY: '.env.stag' } };

    expect(checkSettings(empty)).toEqual([expect.objectContaining({ verdict: 'fail', message: expect.stringContaining('set but empty (.env.stag)') })]);
    expect(checkSettings({ ...settings(), sources: { FETCH_RESERVED_CONCURRENCY: 'default' } })).toEqual([]);
  });

  it('passes the defaults with an alarm address', () => {
    expect(checkSettings(settings())).toEqual([]);
  });
});

describe('certificate names', () => {
  it('cover the name itself and one label under a wildcard, not two', () => {
    expect(certificateCovers(['*.example.com'], 'paas.example.com')).toBe(true);
    expect(certificateCovers(['*.example.com'], 'a.paas.example.com')).toBe(false);
    expect(certificateCovers(['example.com'], 'paas.example.com')).toBe(false);
  });
});

describe("the local account's rules", () => {
  const fn = (name: string, reservedConcurrency?: number) => ({ name, reservedConcurrency }) as LambdaFunction;

  it('refuse, as Lambda does, a reservation that leaves under 100 unreserved', () => {
    expect(reservationRefusal([fn('a'), fn('fetch', 50)], 1000)).toBeUndefined();
    expect(reservationRefusal([fn('a'), fn('fetch', 50)], 10)).toBe(
      "InvalidParameterValueException: Specified ReservedConcurrentExecutions for function fetch decreases account's UnreservedConcurrentExecution below its minimum value of [100].",
    );
  });

  it('read the quota, the logging role and the certificates from the environment, refusing a malformed one', () => {
    expect(localAccountOptions({ LOCAL_LAMBDA_CONCURRENCY_QUOTA: '10', LOCAL_ACM_CERTIFICATES: 'arn:aws:acm:us-east-1:0:certificate/a=x.example.com:PENDING_VALIDATION' })).toEqual({
      concurrencyQuota: 10,
      apiGatewayCloudWatchRoleArn: '',
      certificates: [{ arn: 'arn:aws:acm:us-east-1:0:certificate/a', domainName: 'x.example.com', status: 'PENDING_VALIDATION' }],
    });
    expect(() => localAccountOptions({ LOCAL_LAMBDA_CONCURRENCY_QUOTA: 'many' })).toThrow(/LOCAL_LAMBDA_CONCURRENCY_QUOTA/);
    expect(() => localAccountOptions({ LOCAL_ACM_CERTIFICATES: 'not-an-arn' })).toThrow(/ARN=DOMAIN/);
  });
});
