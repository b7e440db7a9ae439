/**
 * Type tests that fail the run (tap itself only strips types): the fixtures in test/types/ must compile with
 * the project's settings, every `@ts-expect-error` in them must still meet an error, and the declarations
 * the package publishes must not say `any`.
 */
import t from 'tap'
import ts from 'typescript'
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const fixtures = join(root, 'test', 'types')
const src = join(root, 'src')

const format = (diagnostics: readonly ts.Diagnostic[]): string => ts.formatDiagnostics(diagnostics, {
  getCanonicalFileName: (name) => name, getCurrentDirectory: () => root, getNewLine: () => '\n'
})

const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (diagnostic) => { throw new Error(format([diagnostic])) }
})
if (config === undefined) throw new Error('tsconfig.json could not be read')

// one program for both checks: the fixtures, and the entry point whose declarations are published
const program = ts.createProgram(
  [...readdirSync(fixtures).filter((name) => name.endsWith('.ts')).map((name) => join(fixtures, name)), join(src, 'index.ts')],
  { ...config.options, noEmit: false, declaration: true, emitDeclarationOnly: true, sourceMap: false, declarationMap: false }
)

t.test('the fixtures in test/types/ compile, and what must not compile does not', async (t) => {
  const diagnostics = ts.getPreEmitDiagnostics(program)
  t.equal(diagnostics.length, 0, 'no diagnostics', { diagnostics: format(diagnostics) })
})

t.test('no published declaration says any', async (t) => {
  const found: string[] = []
  let files = 0
  const visit = (file: ts.SourceFile, node: ts.Node): void => {
    if (node.kind === ts.SyntaxKind.AnyKeyword) {
      const { line } = file.getLineAndCharacterOfPosition(node.getStart(file))
      found.push(`${file.fileName}:${line + 1}: ${file.text.split('\n')[line]?.trim() ?? ''}`)
    }
    ts.forEachChild(node, (child) => { visit(file, child) })
  }
  const result = program.emit(undefined, (fileName, text, _bom, _onError, sources) => {
    const source = sources?.[0]?.fileName
    if (source === undefined || !source.startsWith(src)) return
    files++
    const declaration = ts.createSourceFile(relative(src, source).replace(/\.ts$/, '.d.ts'), text, ts.ScriptTarget.Latest, true)
    visit(declaration, declaration)
  }, undefined, true)
  t.equal(result.diagnostics.length, 0, 'declarations emitted', { diagnostics: format(result.diagnostics) })
  t.ok(files > 10, `${files} declaration files read`)
  t.same(found, [], 'no any')
})
