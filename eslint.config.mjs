// ESLint flat config: typescript-eslint's `recommended` set plus the few type-aware rules that catch
// real bugs here (floating and misused promises), and import rules that keep workflow code
// deterministic and the layers apart (docs/architecture.md). `npm run lint` runs it with
// --max-warnings=0 and `npm test` runs lint first, so any finding fails the run.
//
// `recommended` rather than `strict-type-checked`, to keep the findings to likely bugs: the
// type-aware rules added are the ones the Temporal samples' config enforces (no floating promises;
// no Node built-ins in workflows is the import rule below), plus misused promises and
// `no-explicit-any`.
import { builtinModules } from 'node:module';
import { dirname, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The folders that hold TypeScript; each is a layer or a tool around the layers.
const TS_DIRS = ['workflows', 'activities', 'workers', 'api', 'lib', 'scripts', 'tools', 'test', 'bench', 'clients'];

// Modules that workflow code may import as values besides @temporalio/workflow and
// @temporalio/common: the contract module and the pure, deterministic modules it uses. Paths are
// relative to the repo root, without extension. Any other project module is type-only in workflows.
const WORKFLOW_VALUE_MODULES = ['lib/temporal/contract', 'lib/temporal/search-attributes', 'lib/task-queue', 'lib/errors', 'lib/dates', 'lib/analytics/money', 'lib/warehouse/values'];

// Node built-ins: the workflow bundler rejects them (it allows only `assert`, `url` and `util`, and
// those are banned here too except `assert`, which the Temporal samples' config also allows).
const ALLOWED_WORKFLOW_BUILTINS = new Set(['assert', 'assert/strict']);
const bannedBuiltins = builtinModules.filter((m) => !m.startsWith('_') && !ALLOWED_WORKFLOW_BUILTINS.has(m));
// Packages the workflow bundler refuses (@temporalio/worker's `disallowedModules`), plus testing.
const BANNED_WORKFLOW_PACKAGES = [
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
  '@temporalio/core-bridge',
  '@temporalio/common/lib/internal-non-workflow',
];
// Third-party packages workflows may import as values (pure and deterministic). Anything else is
// type-only in workflows; add a package here after checking it does no I/O, timers or randomness.
const WORKFLOW_VALUE_PACKAGES = ['@temporalio/workflow', '@temporalio/common'];

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const alt = (names) => names.map(esc).join('|');

/**
 * Import restrictions for a file `depth` folders below the repo root (workflows/x.ts has depth 1).
 * The regexes match relative specifiers that climb exactly to the root (`../` times depth) and
 * then enter a forbidden top-level folder, so `lib/x/y.ts` importing `../tools` (lib/tools.ts)
 * is not mistaken for the tools/ layer.
 */
function layerPatterns(layer, depth, forbiddenDirs) {
  const up = `(?:\\.\\./){${depth}}`;
  return [
    {
      regex: `^${up}(?:${alt(forbiddenDirs)})(?:/.*)?$`,
      message: `Layer rule (docs/architecture.md): ${layer}/ must not import ${forbiddenDirs.map((d) => `${d}/`).join(', ')} (not even types).`,
    },
  ];
}

// What the workflow bundler (and determinism) forbids, wherever the importing file sits.
function workflowSafetyPatterns() {
  return [
    {
      regex: `^(?:node:(?!(?:${alt([...ALLOWED_WORKFLOW_BUILTINS])})$)|(?:${alt(bannedBuiltins)})(?:/.*)?$)`,
      caseSensitive: true,
      message: 'Node built-ins are not allowed in workflow code (the workflow bundler rejects them): move this code to an activity.',
    },
    {
      regex: `^(?:${alt(BANNED_WORKFLOW_PACKAGES)})(?:/.*)?$`,
      caseSensitive: true,
      message: 'Workflow code may use @temporalio/workflow and @temporalio/common only: the bundler rejects client, worker, activity and testing code.',
    },
    {
      // Bare specifiers other than the allowed packages and the two groups above.
      regex: `^(?!\\.|/|node:|(?:${alt([...WORKFLOW_VALUE_PACKAGES, ...BANNED_WORKFLOW_PACKAGES, ...builtinModules])})(?:/|$))`,
      allowTypeImports: true,
      message: `Workflows may import values only from ${WORKFLOW_VALUE_PACKAGES.join(' and ')} (and the contract); other packages are type-only until listed in eslint.config.mjs.`,
    },
  ];
}

function workflowPatterns(depth) {
  const up = `(?:\\.\\./){${depth}}`;
  return [
    ...workflowSafetyPatterns(),
    {
      regex: `^${up}activities(?:/.*)?$`,
      allowTypeImports: true,
      message: 'Workflows may import activities as types only (`import type`), and call them through proxyActivities.',
    },
    {
      regex: `^${up}lib(?!/(?:${alt(WORKFLOW_VALUE_MODULES.map((m) => m.slice('lib/'.length)))})$)(?:/.*)?$`,
      allowTypeImports: true,
      message: `Workflows may import values only from ${WORKFLOW_VALUE_MODULES.join(', ')}; use \`import type\` for anything else in lib/, or move the value into the contract.`,
    },
    ...layerPatterns('workflows', depth, ['clients', 'tools', 'api', 'workers', 'scripts']),
  ];
}

/**
 * The allowed lib modules are bundled into the workflow too, so they follow the same rules: values
 * only from each other and the allowed packages, everything else type-only. Each lib/** file also
 * keeps the lib layer rule, hence `depth`.
 */
function workflowValueModulePatterns(file) {
  const here = posix.dirname(file);
  const others = WORKFLOW_VALUE_MODULES.filter((m) => m !== file).map((m) => {
    const rel = posix.relative(here, m);
    return rel.startsWith('.') ? rel : `./${rel}`;
  });
  const depth = file.split('/').length - 1;
  const layerDirs = ['workflows', 'clients', 'activities', 'tools', 'api', 'workers', 'scripts'];
  return [
    ...workflowSafetyPatterns(),
    {
      // Relative imports other than the allowed modules, and other than the layer folders (the
      // layer pattern below reports those, even as types).
      regex: `^(?!(?:${alt(others)})$)(?!(?:\\.\\./){${depth}}(?:${alt(layerDirs)})(?:/|$))\\.\\.?/`,
      allowTypeImports: true,
      message: `This module is bundled into workflows (WORKFLOW_VALUE_MODULES in eslint.config.mjs): it may import values only from ${WORKFLOW_VALUE_MODULES.join(', ')}; use \`import type\` for the rest.`,
    },
    ...layerPatterns('lib', depth, layerDirs),
  ];
}

const LAYER_RULES = {
  workflows: workflowPatterns,
  lib: (depth) => layerPatterns('lib', depth, ['workflows', 'clients', 'activities', 'tools', 'api', 'workers', 'scripts']),
  activities: (depth) => layerPatterns('activities', depth, ['workflows', 'clients', 'tools', 'api', 'workers']),
};

// One config object per layer and folder depth (the regexes depend on the depth); 6 levels is
// deeper than any folder here.
const layerConfigs = Object.entries(LAYER_RULES).flatMap(([dir, patternsFor]) =>
  [1, 2, 3, 4, 5, 6].map((depth) => ({
    name: `retailflow/layers/${dir}/depth-${depth}`,
    files: [`${dir}/${'*/'.repeat(depth - 1)}*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: patternsFor(depth) }],
    },
  })),
);

export default defineConfig(
  globalIgnores(['dist/', 'dist-bench/', 'test-output/', 'node_modules/', '.tools/', 'run/', 'data/', 'coverage/', 'models/', '.venv/']),
  {
    name: 'retailflow/typescript',
    files: TS_DIRS.map((d) => `${d}/**/*.ts`),
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      parserOptions: {
        // One program for the whole tsconfig rather than `projectService`: the same findings for
        // about a third less CPU here (28-38 s against 43-54 s of user time for the repo on the
        // 2-core box), which keeps `npm test` quick. A .ts file outside tsconfig's `include` fails to parse, so add
        // new folders there and to TS_DIRS.
        project: './tsconfig.json',
        // import.meta.dirname needs Node 20.11; package.json allows 20.3.
        tsconfigRootDir: dirname(fileURLToPath(import.meta.url)),
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Full checksVoidReturn: no code here passes an async callback where a void one is expected.
      // If Fastify or event-emitter style needs it later, `checksVoidReturn: { arguments: false }`.
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // The TypeScript-aware variant understands `import type`; the base rule must stay off.
      'no-restricted-imports': 'off',
    },
  },
  ...layerConfigs,
  // After the lib layer configs, so these files get both rule sets (the options replace, not merge).
  ...WORKFLOW_VALUE_MODULES.map((m) => ({
    name: `retailflow/workflow-value-module/${m}`,
    files: [`${m}.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: workflowValueModulePatterns(m) }],
    },
  })),
  {
    name: 'retailflow/workflows/no-dynamic-import',
    files: ['workflows/**/*.ts', ...WORKFLOW_VALUE_MODULES.map((m) => `${m}.ts`)],
    rules: {
      // no-restricted-imports does not see `import()`; the bundler cannot follow it either.
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression', message: 'No dynamic import() in workflow code: import statically from allowed modules.' },
      ],
    },
  },
  { name: 'retailflow/config-files', files: ['*.mjs'], extends: [js.configs.recommended] },
  {
    // The dashboard's page script: plain browser JavaScript, no build step (api/dashboard/).
    name: 'retailflow/dashboard-page',
    files: ['api/dashboard/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(['window', 'document', 'location', 'history', 'fetch', 'performance', 'console', 'setInterval',
        'clearInterval', 'setTimeout', 'clearTimeout', 'URLSearchParams', 'Node', 'BigInt'].map((name) => [name, 'readonly'])),
    },
  },
);
