/**
 * What would fail a deploy of a stage in this account, from the deploy settings and what the
 * account says about itself (read by scripts/preflight.ts), and what to set instead. Each finding
 * is `fail` (the deploy would fail or roll back), `warn` (it would succeed, with a consequence the
 * operator should choose knowingly) or `ok`.
 */
import { SERVICE } from '../local-aws/packaging';
import { MINIMUM_UNRESERVED_CONCURRENCY } from './aws-limits';

export type Verdict = 'ok' | 'warn' | 'fail';

export interface Finding {
  verdict: Verdict;
  topic: string;
  message: string;
}

/** A reading the account answered, or why it could not be read. */
export type Reading<T> = { ok: true; value: T } | { ok: false; error: string };

export interface AccountReadings {
  region: string;
  lambda: Reading<{ quota: number; unreserved: number }>;
  /** The stage's fetch function's current reservation (0 when it has none or does not exist yet). */
  fetchReservation: Reading<number>;
  apiGatewayRole: Reading<string | undefined>;
  /** Absent when no custom domain certificate is configured. */
  certificate?: Reading<{ status: string; domainName: string; alternativeNames: string[] } | undefined>;
}

export interface DeploySettingsInEffect {
  stage: string;
  values: Record<string, string>;
  /** Where each value came from (shell, the file, default), when known. */
  sources?: Record<string, string>;
}

/** A domain a certificate name covers: itself, or one label under a `*.` name. */
export function certificateCovers(names: string[], domain: string): boolean {
  return names.some((name) => name === domain || (name.startsWith('*.') && domain.endsWith(name.slice(1)) && !domain.slice(0, -name.length + 1).includes('.')));
}

/** The region a certificate ARN names (arn:aws:acm:REGION:ACCOUNT:certificate/ID). */
export function certificateRegion(arn: string): string | undefined {
  const parts = arn.split(':');
  return parts[2] === 'acm' && parts[0] === 'arn' ? parts[3] : undefined;
}

/** The settings on their own: values serverless.yml cannot turn into a valid template. */
export function checkSettings(settings: DeploySettingsInEffect): Finding[] {
  const findings: Finding[] = [];
  const value = (name: string): string => settings.values[name]?.trim() ?? '';
  const role = value('APIGW_CLOUDWATCH_ROLE');
  if (role !== 'create' && role !== 'existing') findings.push({ verdict: 'fail', topic: 'settings', message: `APIGW_CLOUDWATCH_ROLE is "${role}": set it to existing or create.` });
  const reservation = value('FETCH_RESERVED_CONCURRENCY');
  const reservationSource = settings.sources?.FETCH_RESERVED_CONCURRENCY;
  if (reservation === '' && reservationSource !== undefined && reservationSource !== 'default') {
    findings.push({ verdict: 'fail', topic: 'settings', message: `FETCH_RESERVED_CONCURRENCY is set but empty (${reservationSource}): serverless refuses an empty reservation. Remove the line for none.` });
  }
  if (reservation !== '' && !/^[1-9]\d*$/.test(reservation)) findings.push({ verdict: 'fail', topic: 'settings', message: `FETCH_RESERVED_CONCURRENCY is "${reservation}": a positive whole number, or unset for none.` });
  const domain = value('CUSTOM_DOMAIN_NAME');
  const certificate = value('CUSTOM_DOMAIN_CERTIFICATE_ARN');
  if (domain !== '' && certificate === '') findings.push({ verdict: 'fail', topic: 'custom domain', message: `CUSTOM_DOMAIN_NAME is ${domain} but CUSTOM_DOMAIN_CERTIFICATE_ARN is empty: the domain needs an ACM certificate in the stack's region.` });
  if (domain === '' && (certificate !== '' || value('CUSTOM_DOMAIN_HOSTED_ZONE_ID') !== '')) findings.push({ verdict: 'warn', topic: 'custom domain', message: 'A certificate or hosted zone is set without CUSTOM_DOMAIN_NAME: no custom domain is created.' });
  for (const name of ['ALARM_FETCH_ERRORS', 'ALARM_API_5XX_RATE', 'ALARM_LINK_P99_MS', 'API_RATE_LIMIT', 'API_BURST_LIMIT', 'AUTHORIZER_CACHE_TTL']) {
    if (!/^\d+(\.\d+)?$/.test(value(name))) findings.push({ verdict: 'fail', topic: 'settings', message: `${name} is "${value(name)}": a number.` });
  }
  const email = value('ALARM_EMAIL');
  if (email !== '' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) findings.push({ verdict: 'fail', topic: 'alarms', message: `ALARM_EMAIL is "${email}": SNS refuses an e-mail subscription to it.` });
  if (email === '') findings.push({ verdict: 'warn', topic: 'alarms', message: 'ALARM_EMAIL is empty: alarms go to the topic with no one subscribed.' });
  return findings;
}

export function checkLambdaConcurrency(settings: DeploySettingsInEffect, readings: AccountReadings): Finding[] {
  const topic = 'Lambda concurrency';
  if (!readings.lambda.ok) return [{ verdict: 'warn', topic, message: `could not read Lambda's account settings (${readings.lambda.error}); the identity needs lambda:GetAccountSettings.` }];
  const { quota, unreserved } = readings.lambda.value;
  const current = readings.fetchReservation.ok ? readings.fetchReservation.value : 0;
  const wanted = Number(settings.values.FETCH_RESERVED_CONCURRENCY?.trim() || 0);
  const findings: Finding[] = [];
  const left = unreserved + current - wanted;
  const spare = Math.max(0, unreserved + current - MINIMUM_UNRESERVED_CONCURRENCY);
  if (wanted > 0 && left < MINIMUM_UNRESERVED_CONCURRENCY) {
    findings.push({
      verdict: 'fail',
      topic,
      message:
        `FETCH_RESERVED_CONCURRENCY=${wanted} would leave ${left} unreserved of the account's quota of ${quota} (${unreserved} unreserved now), ` +
        `and Lambda keeps at least ${MINIMUM_UNRESERVED_CONCURRENCY}: creating fetch fails. ` +
        (spare > 0 ? `Set FETCH_RESERVED_CONCURRENCY at most ${spare}, or unset it.` : 'Unset FETCH_RESERVED_CONCURRENCY (this account can spare none), or ask for a higher quota (Service Quotas, Lambda "Concurrent executions").'),
    });
  } else {
    findings.push({ verdict: 'ok', topic, message: `quota ${quota}, ${unreserved} unreserved; ${wanted > 0 ? `fetch reserves ${wanted}, leaving ${left}` : 'fetch reserves none (it shares the unreserved pool with the API)'}.` });
  }
  if (quota < 1000) {
    findings.push({
      verdict: 'warn',
      topic,
      message: `the account's quota is ${quota} (new accounts start low): every function shares it, so a burst of 15-minute workers can throttle the API. Ask for an increase (Service Quotas, Lambda "Concurrent executions"), then reserve part of it for fetch.`,
    });
  }
  return findings;
}

export function checkApiGatewayRole(settings: DeploySettingsInEffect, readings: AccountReadings): Finding[] {
  const topic = 'API Gateway logging role';
  const mode = settings.values.APIGW_CLOUDWATCH_ROLE?.trim();
  if (!readings.apiGatewayRole.ok) return [{ verdict: 'warn', topic, message: `could not read API Gateway's account (${readings.apiGatewayRole.error}); the identity needs apigateway:GET on /account.` }];
  const role = readings.apiGatewayRole.value;
  // CloudFormation names the role <stack>-<logical id>-<random>, shortening the middle to fit 64 characters.
  const ownRole = role?.includes(`role/${SERVICE}-${settings.stage}-ApiGateway`) === true;
  if (mode === 'existing' && ownRole) {
    return [{
      verdict: 'fail',
      topic,
      message: `the account's role ${role} is this stack's own (deployed with APIGW_CLOUDWATCH_ROLE=create, the former default): with existing, the update deletes it and API Gateway logging in ${readings.region} stops. Set APIGW_CLOUDWATCH_ROLE=create in .env.${settings.stage}.`,
    }];
  }
  if (mode === 'existing' && !role) {
    return [{
      verdict: 'fail',
      topic,
      message: `the account has no API Gateway CloudWatch role in ${readings.region}, and the stage's access and execution logs need one: the stage fails to create. Set APIGW_CLOUDWATCH_ROLE=create (the stack creates one and sets it for the account and region), or set one yourself.`,
    }];
  }
  if (mode === 'create' && role && !ownRole) {
    return [{
      verdict: 'warn',
      topic,
      message: `APIGW_CLOUDWATCH_ROLE=create replaces the account's role ${role}, which every API in ${readings.region} logs with. Set APIGW_CLOUDWATCH_ROLE=existing to keep it.`,
    }];
  }
  return [{ verdict: 'ok', topic, message: role ? `${mode === 'create' ? 'the stack sets' : 'the stack uses'} the account's role${mode === 'create' ? '' : ` ${role}`}.` : 'the stack creates the role and sets it for the account.' }];
}

export function checkCertificate(settings: DeploySettingsInEffect, readings: AccountReadings): Finding[] {
  const topic = 'custom domain certificate';
  const arn = settings.values.CUSTOM_DOMAIN_CERTIFICATE_ARN?.trim() ?? '';
  const domain = settings.values.CUSTOM_DOMAIN_NAME?.trim() ?? '';
  if (!domain || !arn) return [];
  const region = certificateRegion(arn);
  if (!region) return [{ verdict: 'fail', topic, message: `CUSTOM_DOMAIN_CERTIFICATE_ARN ${arn} is not an ACM certificate ARN.` }];
  if (region !== readings.region) {
    return [{ verdict: 'fail', topic, message: `the certificate is in ${region}, the stack in ${readings.region}: a regional custom domain takes a certificate of its own region. Request or import one in ${readings.region}.` }];
  }
  const reading = readings.certificate;
  if (!reading) return [];
  if (!reading.ok) return [{ verdict: 'warn', topic, message: `could not read the certificate (${reading.error}); the identity needs acm:DescribeCertificate.` }];
  if (!reading.value) return [{ verdict: 'fail', topic, message: `ACM in ${readings.region} has no certificate ${arn}.` }];
  const { status, domainName, alternativeNames } = reading.value;
  const findings: Finding[] = [];
  if (status !== 'ISSUED') findings.push({ verdict: 'fail', topic, message: `the certificate is ${status}, not ISSUED: API Gateway refuses it. ${status === 'PENDING_VALIDATION' ? 'Finish its DNS validation first.' : 'Request a new one.'}` });
  if (!certificateCovers([domainName, ...alternativeNames], domain)) findings.push({ verdict: 'fail', topic, message: `the certificate names ${[domainName, ...alternativeNames].join(', ')}, not ${domain}.` });
  if (findings.length === 0) findings.push({ verdict: 'ok', topic, message: `${domain}: issued, in ${readings.region}.` });
  return findings;
}

/** Every check, settings first. */
export function preflightFindings(settings: DeploySettingsInEffect, readings: AccountReadings): Finding[] {
  return [...checkSettings(settings), ...checkLambdaConcurrency(settings, readings), ...checkApiGatewayRole(settings, readings), ...checkCertificate(settings, readings)];
}
