/**
 * The layering of lib/ (docs/design.md, "Code layout"), checked by `npm run deps` and by the
 * test suite (test/unit/layout.test.ts), so that a change cannot quietly undo it.
 *
 *   handlers/  ->  lib/use-cases/  ->  lib/{jobs, auth, http, storage, download, archive}  ->  lib/core/
 *
 * Adapters may lean on the folders below them in this list, never on those above:
 *   jobs -> storage, auth;  auth -> http;  storage -> archive;  every folder -> core.
 */
const ADAPTERS = '(core|http|auth|download|archive|storage|jobs)';

/** A rule that forbids `from` to import any lib/ folder outside `allowed` (and itself). */
function onlyInto(folder, allowed) {
  const others = ['core', 'http', 'auth', 'download', 'archive', 'storage', 'jobs', 'use-cases'].filter(
    (name) => name !== folder && !allowed.includes(name),
  );
  return {
    name: `${folder}-layer`,
    comment: `lib/${folder}/ may import only ${allowed.length ? allowed.map((name) => `lib/${name}/`).join(', ') : 'nothing else in lib/'}.`,
    severity: 'error',
    from: { path: `^lib/${folder}/` },
    to: { path: `^lib/(${others.join('|')})/` },
  };
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle ties files that should change apart; break it by moving the shared piece down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'adapters-not-into-use-cases',
      comment: 'Use cases orchestrate the adapters; an adapter importing a use case turns the arrows around.',
      severity: 'error',
      from: { path: `^lib/${ADAPTERS}/` },
      to: { path: '^lib/use-cases/' },
    },
    {
      name: 'lib-only-in-layer-folders',
      comment: 'Every lib/ file lives in one of the layer folders: a file beside them would be a detour around every rule here.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^lib/(?!(core|http|auth|download|archive|storage|jobs|use-cases)/)' },
    },
    {
      name: 'adapters-never-reach-use-cases',
      comment: 'Not even through a chain of imports: an adapter that reaches a use case by any path turns the arrows around.',
      severity: 'error',
      from: { path: `^lib/${ADAPTERS}/` },
      to: { path: '^lib/use-cases/', reachable: true },
    },
    onlyInto('core', []),
    onlyInto('archive', ['core']),
    onlyInto('download', ['core']),
    onlyInto('http', ['core']),
    onlyInto('auth', ['core', 'http']),
    onlyInto('storage', ['core', 'archive']),
    onlyInto('jobs', ['core', 'auth', 'storage']),
    {
      name: 'handlers-only-into-lib',
      comment: 'A handler adapts a Lambda event to lib/ and back: it imports lib/ and packages, not other handlers or tooling.',
      severity: 'error',
      from: { path: '^handlers/' },
      to: { pathNot: '^(lib/|node_modules/)', dependencyTypesNot: ['core'] },
    },
    {
      name: 'lib-not-into-the-outside',
      comment: 'lib/ is what the functions ship: it never imports handlers, scripts, tests or benchmarks.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(handlers|scripts|test|bench)/' },
    },
    {
      name: 'no-dev-dependencies-in-functions',
      comment: 'What the functions import must be a runtime dependency, or the deployed bundle lacks it.',
      severity: 'error',
      from: { path: '^(lib|handlers)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a type is a dependency between concerns too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
