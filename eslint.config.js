import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const OUTBOUND_MESSAGE = 'Outbound calls live in src/integrations/.';
const OUTBOUND = {
  paths: ['node:http', 'node:https', 'http', 'https', 'undici'].map((name) => ({
    name,
    message: OUTBOUND_MESSAGE,
  })),
  patterns: [{ group: ['@octokit/*', 'octokit'], message: OUTBOUND_MESSAGE }],
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.gatehouse/**',
      'bin/**',
      'web/dist/**',
      'web/src/api/schema.d.ts',
      'test/e2e/artifacts/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Test bodies read untyped JSON responses; asserting on them is the point.
    files: ['test/**/*.ts', 'src/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Calls to other services leave only from src/integrations (never inside a database
    // transaction); the CLI is a client of Gatehouse itself.
    files: ['src/**/*.ts'],
    ignores: ['src/integrations/**', 'src/cli/**'],
    rules: {
      'no-restricted-imports': ['error', OUTBOUND],
      'no-restricted-globals': [
        'error',
        { name: 'fetch', message: 'Outbound calls live in src/integrations/.' },
      ],
    },
  },
  {
    // Services orchestrate and routes speak HTTP; the SQL they need is a named function in
    // the module's *.queries.ts, taking the executor first.
    files: ['src/**/*.service.ts', 'src/**/*.routes.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'kysely',
              importNames: ['sql'],
              message: 'SQL lives in *.queries.ts: move the query there as a named function.',
            },
            ...OUTBOUND.paths,
          ],
          patterns: OUTBOUND.patterns,
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.property.name=/^(selectFrom|insertInto|updateTable|deleteFrom|mergeInto|replaceInto)$/]',
          message: 'SQL lives in *.queries.ts: move the query there as a named function.',
        },
      ],
    },
  },
  {
    // The dashboard runs in the browser and talks to the server only over HTTP.
    files: ['web/src/**/*.{ts,tsx}'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'navigator',
          'location',
          'history',
          'fetch',
          'sessionStorage',
          'localStorage',
        ]
          .concat([
            'URL',
            'URLSearchParams',
            'Request',
            'Response',
            'FormData',
            'TextDecoderStream',
          ])
          .map((name) => [name, 'readonly']),
      ),
    },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['**/src/**', '!./**'], message: 'web/ never imports the server.' }],
        },
      ],
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
