// @ts-check
// ESLint 9 flat config: @eslint/js recommended + typescript-eslint recommended, a few
// type-aware promise rules for TypeScript, and eslint-config-prettier last (Prettier owns
// formatting; `npm run lint` also runs `prettier --check .`).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Globals of the Node.js that runs the linter (process, Buffer, fetch, setTimeout, ...),
// without adding a dependency on the `globals` package.
const nodeGlobals = Object.fromEntries(
  Object.getOwnPropertyNames(globalThis).map((name) => [name, /** @type {const} */ ('readonly')]),
);
// Module-scoped names that CommonJS files see.
const commonJsGlobals = /** @type {const} */ ({
  require: 'readonly',
  module: 'writable',
  exports: 'writable',
  __dirname: 'readonly',
  __filename: 'readonly',
});

export default defineConfig(
  globalIgnores([
    'dist/',
    'coverage/',
    'node_modules/',
    'bench/results/',
    'temp/',
    // Compiled from api/page/src, which is linted.
    'api/page/public/js/',
  ]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      globals: nodeGlobals,
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // Type-aware rules for TypeScript only: an un-awaited promise in a queue worker or a
    // shutdown path is a lost job or an unhandled rejection.
    files: ['**/*.ts', '**/*.mts', '**/*.cts'],
    languageOptions: {
      parserOptions: {
        // Files outside tsconfig.json's include (root-level *.ts such as a jest config)
        // still get a default project.
        projectService: { allowDefaultProject: ['*.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // Async callbacks where void is expected (Express 5 handlers, process.on) are allowed.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { ...nodeGlobals, ...commonJsGlobals },
    },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  prettier,
);
