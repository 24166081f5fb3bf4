/**
 * IAM as the packaged template grants it: each function's role, with the policies written in
 * its AWS::IAM::Role, evaluated by @cloud-copilot/iam-simulate (a policy simulator, not a
 * hand-written matcher) against the action and resource ARN of every request a function makes.
 *
 * Locally a role is recognised by its access key (`LOCALROLE_<logical id>`): each function runs
 * with its role's key, as on Lambda each runs with its role's session. The emulators' own key
 * (S3RVER) is the account's administrator, for the tests' checks and the local scripts.
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { Json, JsonObject, ResolvedTemplate } from './template';

export const ADMIN_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const ROLE_KEY_PREFIX = 'LOCALROLE_';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Role {
  logicalId: string;
  name: string;
  arn: string;
  policies: { name: string; policy: JsonObject }[];
}

export type Caller = { kind: 'admin' } | { kind: 'role'; role: Role; session: string } | { kind: 'unknown'; accessKeyId: string };

export interface AuthorizationRequest {
  action: string;
  /** One ARN, or several when a request touches several resources (a batch). */
  resources: string[];
  /** Request context the policies' conditions read (`events:source` of PutEvents' entries). */
  context?: Record<string, string | string[]>;
}

export interface Decision {
  allowed: boolean;
  /** AWS's own wording of a refusal. */
  message: string;
}

export function roleCredentials(roleLogicalId: string): Credentials {
  return { accessKeyId: `${ROLE_KEY_PREFIX}${roleLogicalId}`, secretAccessKey: 'local-role-secret' };
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The access key a SigV4 request was signed with: Authorization header or presigned query. */
export function accessKeyOf(headers: Record<string, string | string[] | undefined>, url: URL): string | undefined {
  const authorization = headers.authorization;
  const header = Array.isArray(authorization) ? authorization[0] : authorization;
  const fromHeader = header ? /Credential=([^/,\s]+)\//.exec(header)?.[1] : undefined;
  return fromHeader ?? url.searchParams.get('X-Amz-Credential')?.split('/')[0] ?? undefined;
}

export class IamAuthority {
  private readonly roles = new Map<string, Role>();
  private readonly resourcePolicies: { resourceArn: string; policy: JsonObject }[] = [];
  private readonly decisions = new Map<string, Promise<Decision>>();
  private readonly unreadable = new Set<string>();

  constructor(private readonly template: ResolvedTemplate) {
    for (const resource of template.ofType('AWS::IAM::Role')) {
      const { properties } = resource;
      // AWS-managed policies are not in the template; a role that needs them (API Gateway's
      // logging role) is no function's, and refusing its use below keeps the check honest.
      if (Array.isArray(properties.ManagedPolicyArns) && properties.ManagedPolicyArns.length > 0) {
        this.unreadable.add(resource.logicalId);
        continue;
      }
      const policies = (Array.isArray(properties.Policies) ? properties.Policies : []).filter(isObject).map((policy) => ({
        name: String(policy.PolicyName),
        policy: isObject(policy.PolicyDocument) ? policy.PolicyDocument : {},
      }));
      const name = template.physicalName(resource.logicalId);
      this.roles.set(resource.logicalId, { logicalId: resource.logicalId, name, arn: `arn:aws:iam::${template.accountId}:role/${name}`, policies });
    }
    for (const resource of template.ofType('AWS::S3::BucketPolicy')) {
      const bucket = resource.properties.Bucket;
      if (typeof bucket === 'string' && isObject(resource.properties.PolicyDocument)) {
        this.resourcePolicies.push({ resourceArn: `arn:aws:s3:::${bucket}`, policy: resource.properties.PolicyDocument });
      }
    }
  }

  role(logicalId: string): Role {
    if (this.unreadable.has(logicalId)) throw new Error(`Role ${logicalId} attaches managed policies, which the local IAM cannot read.`);
    const role = this.roles.get(logicalId);
    if (!role) throw new Error(`The template has no role ${logicalId}.`);
    return role;
  }

  /** The role a function runs under, from its `Role` property. */
  roleOfFunction(functionLogicalId: string): Role {
    const roleArn = this.template.resource(functionLogicalId).properties.Role;
    const role = [...this.roles.values()].find((candidate) => candidate.arn === roleArn);
    if (!role) throw new Error(`Function ${functionLogicalId} runs under ${String(roleArn)}, which is not a role of this template.`);
    return role;
  }

  callerOf(accessKeyId: string | undefined, session = 'local'): Caller {
    if (accessKeyId === ADMIN_CREDENTIALS.accessKeyId) return { kind: 'admin' };
    if (accessKeyId?.startsWith(ROLE_KEY_PREFIX)) {
      const role = this.roles.get(accessKeyId.slice(ROLE_KEY_PREFIX.length));
      if (role) return { kind: 'role', role, session };
    }
    return { kind: 'unknown', accessKeyId: accessKeyId ?? '(none)' };
  }

  /** Whether `caller` may perform the request; every resource must be allowed. */
  async authorize(caller: Caller, request: AuthorizationRequest): Promise<Decision> {
    if (caller.kind === 'admin') return { allowed: true, message: '' };
    if (caller.kind === 'unknown') {
      return { allowed: false, message: `The security token included in the request is invalid (access key ${caller.accessKeyId}).` };
    }
    for (const resource of request.resources) {
      const decision = await this.decide(caller.role, caller.session, request.action, resource, request.context ?? {});
      if (!decision.allowed) return decision;
    }
    return { allowed: true, message: '' };
  }

  private decide(role: Role, session: string, action: string, resource: string, context: Record<string, string | string[]>): Promise<Decision> {
    const key = `${role.logicalId}\n${action}\n${resource}\n${JSON.stringify(context)}`;
    let decision = this.decisions.get(key);
    if (!decision) {
      // Object keys make the resources of S3 unbounded; a simple cap keeps the cache small.
      if (this.decisions.size > 10_000) this.decisions.clear();
      decision = this.simulate(role, session, action, resource, context);
      this.decisions.set(key, decision);
    }
    return decision;
  }

  private async simulate(role: Role, session: string, action: string, resource: string, context: Record<string, string | string[]>): Promise<Decision> {
    const principal = `arn:aws:sts::${this.template.accountId}:assumed-role/${role.name}/${session}`;
    const resourcePolicy = this.resourcePolicies.find((entry) => resource === entry.resourceArn || resource.startsWith(`${entry.resourceArn}/`));
    const simulation: Simulation = {
      request: {
        principal,
        action,
        resource: { resource, accountId: this.template.accountId },
        // The SDK reaches AWS over TLS; locally the emulators speak plain HTTP behind this check.
        contextVariables: { ...context, 'aws:SecureTransport': 'true', 'aws:PrincipalArn': role.arn },
      },
      identityPolicies: role.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy: resourcePolicy.policy } : {}),
    };
    const result = await runSimulation(simulation, {});
    if (result.resultType === 'error') throw new Error(`IAM simulation of ${action} on ${resource} failed: ${JSON.stringify(result.errors)}`);
    if (result.overallResult === 'Allowed') return { allowed: true, message: '' };
    const why = result.overallResult === 'ExplicitlyDenied' ? 'with an explicit deny' : `because no identity-based policy allows the ${action} action`;
    return { allowed: false, message: `User: ${principal} is not authorized to perform: ${action} on resource: ${resource} ${why}` };
  }
}
