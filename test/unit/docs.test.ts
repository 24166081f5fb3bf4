/**
 * The documents keep themselves honest: every link in README.md and docs/*.md stays
 * inside the repository and resolves (to a file, and for an anchor to a heading of it);
 * docs/api.md's error tables name exactly the codes lib/core/errors.ts and serverless.yml's
 * gateway responses answer, with their statuses; docs/operations.md's configuration table names
 * exactly the variables lib/core/config.ts reads. Each check also runs on test/fixtures/bad-docs/,
 * a tree that breaks it, so a check that could not fail would show.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../lib/core/config';
import { ERROR_STATUS, isErrorCode } from '../../lib/core/errors';
import { DEPLOY_SETTINGS } from '../../scripts/deploy/settings';
import { codeSpans, headingAnchors, linkTargets, section, tableRows } from '../helpers/markdown';

const root = path.resolve(__dirname, '../..');
const badTree = path.join(root, 'test/fixtures/bad-docs');

const ERROR_TABLE = 'Error codes';
const GATEWAY_TABLE = 'Answers API Gateway gives itself';
const ENVIRONMENT_TABLE = 'Function environment';
const DEPLOY_TABLE = 'Deploy settings';
/** Read by serverless.yml for the local stack and the tests only, documented with the local stack. */
const LOCAL_ONLY = ['DYNAMODB_PORT', 'S3_PORT', 'LAMBDA_PORT', 'EVENTS_PORT'];

function read(tree: string, file: string): string {
  return readFileSync(path.join(tree, file), 'utf8');
}

/** README.md and every docs/*.md of a tree, relative to it. */
function documentsOf(tree: string): string[] {
  const docs = path.join(tree, 'docs');
  const pages = existsSync(docs) ? readdirSync(docs).filter((name) => name.endsWith('.md')).sort() : [];
  return ['README.md', ...pages.map((name) => `docs/${name}`)];
}

/** Why each link of `file` does not lead to a file of `tree` (and a heading, for an anchor); empty when all do. */
function linkProblems(tree: string, file: string): string[] {
  const problems: string[] = [];
  for (const { target, line } of linkTargets(read(tree, file))) {
    const problem = (why: string): number => problems.push(`${file}:${line} ${target}: ${why}`);
    if (/^([a-z][a-z0-9+.-]*:|\/\/|www\.)/i.test(target)) {
      problem('leaves the repository (name external references in words)');
      continue;
    }
    if (target.startsWith('/')) {
      problem('is not relative');
      continue;
    }
    const hash = target.indexOf('#');
    const filePart = hash < 0 ? target : target.slice(0, hash);
    const anchor = hash < 0 ? undefined : target.slice(hash + 1);
    const resolved = filePart ? path.resolve(path.dirname(path.join(tree, file)), decodeURIComponent(filePart)) : path.join(tree, file);
    const inside = path.relative(tree, resolved);
    if (inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
      problem("goes above the repository's root");
      continue;
    }
    if (!existsSync(resolved) || inside.split(path.sep)[0] === 'node_modules') {
      problem('names no file of the repository');
      continue;
    }
    if (anchor === undefined) continue;
    if (!resolved.endsWith('.md') || !statSync(resolved).isFile()) {
      problem('has an anchor into a file that is not Markdown, which cannot be checked');
      continue;
    }
    if (!headingAnchors(readFileSync(resolved, 'utf8')).has(anchor)) problem(`no heading there makes the anchor #${anchor}`);
  }
  return problems;
}

/** Where the error-code table differs from lib/core/errors.ts: a code missing, extra, repeated, or with another status. */
function errorTableProblems(api: string): string[] {
  const rows = tableRows(section(api, ERROR_TABLE) ?? []);
  if (rows.length === 0) return [`no table under the heading "${ERROR_TABLE}"`];
  const problems: string[] = [];
  const listed = new Map<string, number>();
  for (const [status = '', cell = ''] of rows) {
    const [code, ...others] = codeSpans(cell);
    if (code === undefined || others.length > 0) {
      problems.push(`the row "${cell}" must name exactly one code`);
      continue;
    }
    listed.set(code, (listed.get(code) ?? 0) + 1);
    if (!isErrorCode(code)) problems.push(`${code}: not a code of lib/core/errors.ts`);
    else if (status !== String(ERROR_STATUS[code])) problems.push(`${code}: status ${status}, but lib/core/errors.ts says ${ERROR_STATUS[code]}`);
  }
  for (const [code, times] of listed) if (times > 1) problems.push(`${code}: listed ${times} times`);
  for (const code of Object.keys(ERROR_STATUS)) if (!listed.has(code)) problems.push(`${code}: missing`);
  return problems;
}

interface GatewayResponse {
  status?: number;
  code: string;
}

/** API Gateway's own answers as serverless.yml declares them (plugins/api-gateway.js makes them resources). */
function gatewayResponses(): Record<string, GatewayResponse> {
  const template = parse(read(root, 'serverless.yml')) as { custom: { gatewayResponses: Record<string, GatewayResponse> } };
  return template.custom.gatewayResponses;
}

/** Where the gateway table differs from serverless.yml: a response type missing or extra, another status or code. */
function gatewayTableProblems(api: string, responses: Record<string, GatewayResponse>): string[] {
  const rows = tableRows(section(api, GATEWAY_TABLE) ?? []);
  if (rows.length === 0) return [`no table under the heading "${GATEWAY_TABLE}"`];
  const problems: string[] = [];
  const documented = new Set<string>();
  for (const [typeCell = '', status = '', codeCell = ''] of rows) {
    const type = codeSpans(typeCell)[0] ?? typeCell;
    documented.add(type);
    const declared = responses[type];
    if (!declared) {
      problems.push(`${type}: not a gateway response of serverless.yml`);
      continue;
    }
    const expectedStatus = declared.status === undefined ? 'its own' : String(declared.status);
    if (status !== expectedStatus) problems.push(`${type}: status ${status}, but serverless.yml says ${expectedStatus}`);
    const code = codeSpans(codeCell)[0];
    if (code !== declared.code) problems.push(`${type}: code ${code ?? codeCell}, but serverless.yml says ${declared.code}`);
  }
  for (const type of Object.keys(responses)) if (!documented.has(type)) problems.push(`${type}: missing`);
  return problems;
}

/**
 * Every variable lib/core/config.ts reads: those a full load touches (recorded through a proxy),
 * and those its source passes to a reader, in case a branch the load did not take reads one.
 */
function configVariables(): string[] {
  const names = new Set<string>();
  const required = {
    STAGE: 'stag',
    VERSIONS_TABLE: 'versions',
    TOKENS_TABLE: 'tokens',
    JOBS_TABLE: 'jobs',
    PACKAGES_BUCKET: 'packages',
    FETCH_FUNCTION_NAME: 'fetch',
    CURSOR_SIGNING_KEY: 'k'.repeat(32),
  };
  const env = new Proxy<Record<string, string | undefined>>(required, {
    get(target, name, receiver) {
      if (typeof name === 'string') names.add(name);
      return Reflect.get(target, name, receiver) as string | undefined;
    },
  });
  loadConfig(env);
  for (const match of read(root, 'lib/core/config.ts').matchAll(/\benv(?:\.|, ')([A-Z][A-Z0-9_]*)/g)) names.add(match[1] ?? '');
  return [...names].sort();
}

/** Where the configuration table differs from what lib/core/config.ts reads. */
function environmentTableProblems(operations: string, variables: readonly string[]): string[] {
  const rows = tableRows(section(operations, ENVIRONMENT_TABLE) ?? []);
  if (rows.length === 0) return [`no table under the heading "${ENVIRONMENT_TABLE}"`];
  const documented = new Set(rows.flatMap(([names = '']) => codeSpans(names)).filter((name) => /^[A-Z][A-Z0-9_]*$/.test(name)));
  return [
    ...variables.filter((name) => !documented.has(name)).map((name) => `${name}: read by lib/core/config.ts, missing from the table`),
    ...[...documented].filter((name) => !variables.includes(name)).map((name) => `${name}: in the table, not read by lib/core/config.ts`),
  ];
}

describe('links in README.md and docs/*.md', () => {
  it.each(documentsOf(root))('%s: every link is relative and leads to a file (and heading) of the repository', (file) => {
    // Act
    const problems = linkProblems(root, file);

    // Assess
    expect(problems).toEqual([]);
  });

  it('lead from the README to every document', () => {
    // Prepare
    const targets = linkTargets(read(root, 'README.md')).map(({ target }) => target.split('#')[0]);

    // Assess
    expect(targets).toEqual(expect.arrayContaining(['docs/api.md', 'docs/design.md', 'docs/operations.md', 'openapi.yaml', 'BENCHMARKS.md', 'bench/TUNING.md']));
  });

  it('are refused when they leave the repository, are absolute, name no file or no heading (test/fixtures/bad-docs)', () => {
    // Act
    const problems = linkProblems(badTree, 'README.md');

    // Assess
    expect(problems).toEqual([
      'README.md:7 https://example.com/docs: leaves the repository (name external references in words)',
      'README.md:8 https://example.org/page: leaves the repository (name external references in words)',
      'README.md:9 https://example.net: leaves the repository (name external references in words)',
      'README.md:10 mailto:maintainers@example.com: leaves the repository (name external references in words)',
      'README.md:11 ../outside.md: goes above the repository\'s root',
      'README.md:12 /docs/api.md: is not relative',
      'README.md:13 docs/missing.md: names no file of the repository',
      'README.md:14 docs/api.md#no-such-heading: no heading there makes the anchor #no-such-heading',
      'README.md:15 openapi.yaml#/paths: has an anchor into a file that is not Markdown, which cannot be checked',
      'README.md:16 #no-such-section: no heading there makes the anchor #no-such-section',
      'README.md:18 https://example.com/reference: leaves the repository (name external references in words)',
    ]);
  });
});

/**
 * Where the code and the tests point at the documents: every `docs/<page>.md#<anchor>` names a
 * heading of that page; no comment or test name cites the brief's old section numbers ("DESIGN §N")
 * or an issue number from a tracker the repository does not carry ("issue 11", "(#12)") — a
 * comment says the reason instead.
 */
const SOURCE_ROOTS = ['lib', 'handlers', 'scripts', 'bench', 'plugins', 'resources', 'test'];
const SOURCE_FILES = /\.(ts|mts|cjs|js|py|yml|yaml)$/;
const DOC_ANCHOR = /docs\/([a-z-]+\.md)#([a-z0-9-]+)/g;
const OLD_REFERENCE = /DESIGN §|\bissues? #?\d+|\(#\d+\)|(?<![\w&])#\d+\b/gi;

function sourceFiles(tree: string): string[] {
  return SOURCE_ROOTS.flatMap((root) =>
    existsSync(path.join(tree, root))
      ? readdirSync(path.join(tree, root), { recursive: true, encoding: 'utf8' })
          .map((name) => `${root}/${name.split(path.sep).join('/')}`)
          // Not the bad fixtures, nor this file: they hold the references the checks must refuse.
          .filter((name) => SOURCE_FILES.test(name) && !name.includes('node_modules/') && !name.startsWith('test/fixtures/bad-') && name !== 'test/unit/docs.test.ts')
      : [],
  ).concat(['serverless.yml', 'openapi.yaml', '.dependency-cruiser.cjs', 'vitest.config.mts'].filter((name) => existsSync(path.join(tree, name))));
}

/** Why `text` (the file `file`) points at no existing section, or cites an old reference; empty when it does neither. */
function referenceProblems(file: string, text: string, anchorsOf: (page: string) => Set<string> | undefined): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((line, index) => {
    for (const [, page = '', anchor = ''] of line.matchAll(DOC_ANCHOR)) {
      const anchors = anchorsOf(page);
      if (!anchors) problems.push(`${file}:${index + 1} docs/${page}: no such page`);
      else if (!anchors.has(anchor)) problems.push(`${file}:${index + 1} docs/${page}#${anchor}: no heading there makes that anchor`);
    }
    for (const [reference] of line.matchAll(OLD_REFERENCE)) problems.push(`${file}:${index + 1} "${reference}": say the reason, not a section or issue number`);
  });
  return problems;
}

describe('references from the code and the tests to the documents', () => {
  const anchorsOf = (page: string): Set<string> | undefined =>
    existsSync(path.join(root, 'docs', page)) ? headingAnchors(read(root, `docs/${page}`)) : undefined;

  it('name existing sections of docs/, and no "DESIGN §" or issue number', () => {
    // Act
    const problems = sourceFiles(root).flatMap((file) => referenceProblems(file, read(root, file), anchorsOf));

    // Assess
    expect(problems).toEqual([]);
  });

  it('are refused when an anchor names no heading, or a comment cites a section or issue number', () => {
    // Prepare
    const text = [
      '// the flow (docs/design.md#the-flow)',
      '// see docs/design.md#no-such-section and docs/nowhere.md#x',
      '// as DESIGN §2 says (issue 12); see #7',
      "it('renders the colour #fff and keeps &#39; entities')",
    ].join('\n');

    // Act
    const problems = referenceProblems('lib/example.ts', text, anchorsOf);

    // Assess
    expect(problems).toEqual([
      'lib/example.ts:2 docs/design.md#no-such-section: no heading there makes that anchor',
      'lib/example.ts:2 docs/nowhere.md: no such page',
      'lib/example.ts:3 "DESIGN §": say the reason, not a section or issue number',
      'lib/example.ts:3 "issue 12": say the reason, not a section or issue number',
      'lib/example.ts:3 "#7": say the reason, not a section or issue number',
    ]);
  });
});

describe("docs/api.md's error tables", () => {
  it('list every code of lib/core/errors.ts once, with its status, and no other code', () => {
    // Act
    const problems = errorTableProblems(read(root, 'docs/api.md'));

    // Assess
    expect(problems).toEqual([]);
  });

  it("name every code of lib/core/errors.ts in openapi.yaml's ErrorCode, the worker's WORKER_FAILED among them", () => {
    // Prepare
    const openapi = parse(read(root, 'openapi.yaml')) as { components: { schemas: { ErrorCode: { enum: string[] } } } };

    // Act
    const missing = Object.keys(ERROR_STATUS).filter((code) => !openapi.components.schemas.ErrorCode.enum.includes(code));

    // Assess
    expect(missing).toEqual([]);
    expect(ERROR_STATUS.WORKER_FAILED).toBe(503);
  });

  it("list every answer API Gateway gives itself as serverless.yml declares it", () => {
    // Act
    const problems = gatewayTableProblems(read(root, 'docs/api.md'), gatewayResponses());

    // Assess
    expect(problems).toEqual([]);
  });

  it('are refused with a code missing, repeated, unknown or with another status (test/fixtures/bad-docs)', () => {
    // Act
    const problems = errorTableProblems(read(badTree, 'docs/api.md'));

    // Assess
    expect(problems).toEqual([
      'PACKAGE_TOO_LARGE: status 413, but lib/core/errors.ts says 422',
      'NOT_A_CODE: not a code of lib/core/errors.ts',
      'VALIDATION_ERROR: listed 2 times',
      'CHECKSUM_MISMATCH: missing',
    ]);
  });

  it('are refused with a gateway response missing, unknown or with another code (test/fixtures/bad-docs)', () => {
    // Act
    const problems = gatewayTableProblems(read(badTree, 'docs/api.md'), gatewayResponses());

    // Assess
    expect(problems).toEqual([
      'THROTTLED: code TOO_MANY, but serverless.yml says THROTTLED',
      'API_CONFIGURATION_ERROR: not a gateway response of serverless.yml',
      'QUOTA_EXCEEDED: missing',
    ]);
  });
});

describe("docs/operations.md's configuration table", () => {
  it('names exactly the environment variables lib/core/config.ts reads', () => {
    // Act
    const problems = environmentTableProblems(read(root, 'docs/operations.md'), configVariables());

    // Assess
    expect(problems).toEqual([]);
  });

  it('is refused with a variable missing or one config.ts does not read (test/fixtures/bad-docs)', () => {
    // Act
    const problems = environmentTableProblems(read(badTree, 'docs/operations.md'), configVariables());

    // Assess: the fixture lists only STAGE, so every other variable is missing from it.
    expect(problems).toEqual(
      expect.arrayContaining([
        'CURSOR_SIGNING_KEY: read by lib/core/config.ts, missing from the table',
        'NOT_READ_BY_CONFIG: in the table, not read by lib/core/config.ts',
      ]),
    );
    expect(problems.some((problem) => problem.startsWith('STAGE:'))).toBe(false);
  });
});

/** Every `env:NAME` serverless.yml and its resource files read (`${env:…}`, `${opt:region, env:AWS_REGION…}`), but the local stack's ports. */
function deployVariables(): string[] {
  const sources = ['serverless.yml', ...readdirSync(path.join(root, 'resources')).map((file) => `resources/${file}`)];
  const names = new Set(sources.flatMap((file) => [...read(root, file).matchAll(/[{,]\s*env:([A-Z][A-Z0-9_]*)/g)].map((match) => match[1] ?? '')));
  return [...names].filter((name) => !LOCAL_ONLY.includes(name)).sort();
}

/** Where the deploy settings table differs from what serverless.yml reads. */
function deployTableProblems(operations: string, variables: readonly string[]): string[] {
  const rows = tableRows(section(operations, DEPLOY_TABLE) ?? []);
  if (rows.length === 0) return [`no table under the heading "${DEPLOY_TABLE}"`];
  const documented = new Set(rows.flatMap(([names = '']) => codeSpans(names)).filter((name) => /^[A-Z][A-Z0-9_]*$/.test(name)));
  return [
    ...variables.filter((name) => !documented.has(name)).map((name) => `${name}: read by serverless.yml, missing from the table`),
    ...[...documented].filter((name) => !variables.includes(name)).map((name) => `${name}: in the table, not read by serverless.yml`),
  ];
}

describe("docs/operations.md's deploy settings table", () => {
  it('names exactly the variables serverless.yml and resources/ read, and .env.example lists each', () => {
    // Act
    const variables = deployVariables();
    const problems = deployTableProblems(read(root, 'docs/operations.md'), variables);
    const example = read(root, '.env.example');

    // Assess
    expect(variables).toEqual(expect.arrayContaining(['AWS_REGION', 'ALARM_EMAIL', 'FETCH_RESERVED_CONCURRENCY', 'APIGW_CLOUDWATCH_ROLE']));
    expect(problems).toEqual([]);
    expect(variables.filter((name) => name !== 'ESBUILD_WORK_FOLDER' && !new RegExp(`^# ${name}=`, 'm').test(example))).toEqual([]);
    // npm run preflight prints the same settings.
    expect(Object.keys(DEPLOY_SETTINGS).sort()).toEqual(variables.filter((name) => name !== 'ESBUILD_WORK_FOLDER'));
  });

  it('is refused with a variable missing or one serverless.yml does not read (test/fixtures/bad-docs)', () => {
    // Act
    const problems = deployTableProblems(read(badTree, 'docs/operations.md'), deployVariables());

    // Assess
    expect(problems).toEqual(
      expect.arrayContaining(['FETCH_RESERVED_CONCURRENCY: read by serverless.yml, missing from the table', 'NOT_READ_BY_SERVERLESS: in the table, not read by serverless.yml']),
    );
    expect(problems.some((problem) => problem.startsWith('ALARM_EMAIL:'))).toBe(false);
  });
});
