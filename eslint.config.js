import js from '@eslint/js'
import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tap/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  // the formatting the Fastify organisation's plugins use: `npm run lint -- --fix` applies it
  ...neostandard({ ts: true, noJsx: true }),
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // `void promise;` marks a promise deliberately not awaited (a timer's retry, a signal handler's close)
      'no-void': ['error', { allowAsStatement: true }]
    }
  }
)
