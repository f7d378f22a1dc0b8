// Lint: typescript-eslint's recommended type-aware rules plus the project's habits (no floating
// promises, no `any`, `@ts-expect-error` with a reason instead of `@ts-ignore`, type-only imports).
// Layout is prettier's job (.prettierrc.json): eslint-config-prettier, last, switches off every rule
// that would argue with it (`curly: multi-line` did: prettier moves a long body to its own line).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier/flat';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'out/**', 'dbt/**', '**/.venv/**', 'dashboards/.superset/**', '**/*.mjs', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': ['error', { 'ts-expect-error': 'allow-with-description', 'ts-ignore': true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  prettier,
);
