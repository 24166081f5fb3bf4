/**
 * A longer run of the differential test against real extractors:
 *
 *   npm run fuzz:extractors -- --seed 7 --count 20000 [--concurrency 4] [--findings findings.jsonl]
 *
 * Runs test/integration/archive/extractor-differential.test.ts with that seed and count. An
 * accepted archive that an extractor writes otherwise than listed fails the run and is kept in
 * test/fixtures/extractor-reproducers/ (see its README); --findings writes every disagreement,
 * known ones included, one JSON line each.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const args = process.argv.slice(2);
function option(name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}
const seed = option('seed') ?? String(Math.floor(Math.random() * 2 ** 31));
const count = option('count') ?? '5000';
const env: NodeJS.ProcessEnv = { ...process.env, EXTRACTOR_FUZZ_SEED: seed, EXTRACTOR_FUZZ_COUNT: count };
const concurrency = option('concurrency');
if (concurrency) env.EXTRACTOR_FUZZ_CONCURRENCY = concurrency;
const findings = option('findings');
if (findings) env.EXTRACTOR_FUZZ_FINDINGS = path.resolve(findings);
console.log(`extractor fuzz: seed ${seed}, ${count} mutants`);
const result = spawnSync(path.join(__dirname, 'node24'), ['vitest', 'run', 'test/integration/archive/extractor-differential.test.ts', '-t', 'every mutant', '--testTimeout', '0'], {
  cwd: path.join(__dirname, '..'),
  env,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
