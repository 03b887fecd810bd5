// Lint rules for the whole repository (the extension has its own package but shares these rules).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The "may import" rule of each folder's README, checked: an import that points the wrong way fails `npm test`.
// Each layer forbids import specifiers (regular expressions over the path as written, relative or not) in the files
// under `path`; a layer also applies the forbids of the layers above it (`processor/state` those of `processor`)
// unless marked `local`. Tests are exempt: they may reach into whatever they exercise, and into test/support.
const TESTS = ['**/*.test.ts', '**/test-support.ts', '**/*.fixture.ts'];
// A sibling or ancestor folder, reached by `../` (or a bare specifier): `./state` inside a folder is its own file.
const folder = (names) => `(^|\\.\\./)(${names})(/|$)`;
const except = (prefix, allowed) => `${prefix}(?!(${allowed})$)`;
const BUILDING_BLOCK = [folder('pipeline|binders|sql|sql-runtime|debug|udf'), 'building blocks do not import the runtimes that assemble them (processor/README.md)'];
const layers = [
  { path: 'crds', forbid: [[folder('apiserver|controllers|processor|cli|extension|examples|bench|test'), 'crds/ is the API: it imports no other project folder (crds/README.md)']] },
  { path: 'crds/sql', forbid: [[except('^\\.\\./', 'types|expressions/.*|loader'), 'crds/sql/ may import only ../types, ../expressions and ../loader of crds/ (crds/sql/README.md)']] },
  { path: 'processor', forbid: [[folder('apiserver|controllers|cli|extension|examples|bench|test'), 'the data plane never imports the control plane, the CLI or tests (processor/README.md)']] },
  { path: 'processor/state', forbid: [[folder('window|pipeline|sql|sql-runtime|binders'), 'state/ depends on the message model, not on its users (processor/state/README.md)']] },
  ...['transform', 'time', 'partition', 'window', 'expressions', 'codec', 'delivery'].map((name) => ({ path: `processor/${name}`, forbid: [BUILDING_BLOCK] })),
  { path: 'processor/sql', forbid: [[folder('pipeline|binders|sql-runtime|debug|window|state'), 'the SQL engine is pure: sql-runtime/ wires it to brokers (processor/sql/README.md)']] },
  {
    path: 'controllers',
    forbid: [
      [folder('apiserver|cli|extension|examples|bench|test'), 'controllers/ may import crds/ and processor/config.ts only (controllers/README.md)'],
      [except(folder('processor'), 'config'), 'the one file of processor/ the control plane may import is processor/config.ts (controllers/README.md)'],
    ],
  },
  {
    path: 'apiserver',
    forbid: [
      [folder('controllers|processor|cli|extension|examples|bench|test'), 'apiserver/ imports crds/ and its own auth/ only (apiserver/README.md)'],
      [except('(^|/)auth/', 'index|types'), 'the core reaches auth/ through its index.ts and types.ts seam (apiserver/README.md)', 'local'],
    ],
  },
  { path: 'apiserver/auth', forbid: [['^\\.\\./', 'auth/ imports nothing of the repository outside itself (apiserver/auth/README.md)']] },
  {
    path: 'cli',
    forbid: [
      [folder('extension|examples|bench|test'), 'cli/ does not import tests, benchmarks or examples (cli/README.md)'],
      [except(folder('apiserver'), 'cmd|pki'), 'cli/ uses the API server through its cmd.ts (and pki for certificates) only (cli/README.md)'],
      [except(folder('controllers'), 'cmd|in-cluster|workload|sql-workload|brokers|kube/client|runtime/local/supervisor'), "cli/ may import the controllers' cmd.ts and the helpers its README lists (cli/README.md)"],
      [except(folder('processor'), 'cmd|config|message|codec|partition|binders/(factory|types|kafka|rabbitmq|rabbitmq-connection)'), "cli/ may import the processor's cmd.ts, its configuration contract, codecs and binders (cli/README.md)"],
    ],
  },
  { path: 'examples', forbid: [[folder('apiserver|controllers|cli|extension|bench|test'), 'examples/ are processors and UDFs: they use processor/ building blocks only (examples/README.md)']] },
  {
    path: 'extension/src',
    forbid: [
      [folder('apiserver|controllers|processor|cli|examples|bench'), 'the extension imports crds/ only (extension/README.md)'],
      [except(folder('crds'), 'types|loader'), 'only server/rules.ts imports crds/ rules; the rest uses crds/types and crds/loader (extension/README.md)', 'local'],
    ],
  },
  { path: 'extension/src/server/rules.ts', forbid: [] },
];

const within = (inner, outer) => inner === outer || inner.startsWith(`${outer}/`);
const filesOf = (path) => (path.endsWith('.ts') ? [path] : [`${path}/**/*.ts`]);

// ESLint keeps one setting of a rule per file (the last), so each file must match exactly one layer: a layer ignores
// the files of the layers inside it, and carries the forbids of the layers around it.
function importRules() {
  return layers.map(({ path, forbid }) => {
    const around = layers.filter((l) => l.path !== path && within(path, l.path));
    const inherited = around.flatMap((l) => l.forbid.filter(([, , scope]) => scope !== 'local'));
    const inside = layers.filter((l) => l.path !== path && within(l.path, path)).flatMap((l) => filesOf(l.path));
    return {
      files: filesOf(path),
      ignores: [...TESTS, ...inside],
      rules: {
        'no-restricted-imports': ['error', { patterns: [...inherited, ...forbid].map(([regex, message]) => ({ regex, message })) }],
      },
    };
  });
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'extension/node_modules/**', 'extension/out/**', '.sr/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...importRules(),
);
