/**
 * The code layout (docs/design.md, "Code layout") as `.dependency-cruiser.cjs` states it: no
 * import circle, adapters never reach up into the use cases or into folders above them, handlers
 * import only lib/, and lib/ never imports tooling. The rules run on the real tree, and on a
 * fixture tree that breaks each of them once, so that a rule that could not fail would show.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

async function violations(cwd: string, folders: string[]): Promise<Violation[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [cli, '--config', path.join(root, '.dependency-cruiser.cjs'), '--output-type', 'json', ...folders],
    { cwd, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
  );
  const report = JSON.parse(stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  expect(report.summary.totalCruised).toBeGreaterThan(0);
  return report.summary.violations;
}

describe('the layering rules', () => {
  it('hold for handlers, lib, scripts and bench', async () => {
    const found = await violations(root, ['handlers', 'lib', 'scripts', 'bench']);

    expect(found.map((violation) => `${violation.rule.name}: ${violation.from} -> ${violation.to}`)).toEqual([]);
  });

  it('catch a circle, an adapter importing a use case directly or through a detour, core importing a layer, lib reaching tooling or a dev dependency, and a handler importing tooling', async () => {
    const found = await violations(path.join(root, 'test/fixtures/bad-layout'), ['handlers', 'lib', 'scripts']);

    expect(found.map((violation) => `${violation.rule.name}: ${violation.from}`).sort()).toEqual(
      [
        'adapters-never-reach-use-cases: lib/archive/listing.ts',
        'adapters-never-reach-use-cases: lib/jobs/detour.ts',
        'adapters-not-into-use-cases: lib/archive/listing.ts',
        'archive-layer: lib/archive/listing.ts',
        'core-layer: lib/core/config.ts',
        'handlers-only-into-lib: handlers/handler.ts',
        'lib-only-in-layer-folders: lib/jobs/detour.ts',
        'lib-not-into-the-outside: lib/core/tooling.ts',
        'no-dev-dependencies-in-functions: lib/core/test-only.ts',
        'no-circular: lib/http/first.ts',
      ].sort(),
    );
  });
});

describe('module specifiers', () => {
  // The rules see only what a specifier names; `import(name)` or `require(base + name)` would hide an arrow.
  const computed = /\b(?:import|require)\(\s*(?!['"][^'"]*['"]\s*\))/;

  it('are literal everywhere in lib and handlers, so every import is one the rules can see', () => {
    const files = ['lib', 'handlers'].flatMap((folder) => readdirSync(path.join(root, folder), { recursive: true, encoding: 'utf8' }).map((file) => path.join(folder, file)));
    const offenders = files.filter((file) => file.endsWith('.ts') && computed.test(readFileSync(path.join(root, file), 'utf8')));

    expect(files.length).toBeGreaterThan(50);
    expect(offenders).toEqual([]);
  });

  it('are told apart from literal ones', () => {
    expect(["await import('./x')", "require('yaml')"].some((line) => computed.test(line))).toBe(false);
    expect(['await import(name)', "require('../x/' + name)", 'import(`./${name}`)'].every((line) => computed.test(line))).toBe(true);
  });
});
