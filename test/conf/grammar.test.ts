// The grammar as a parser: nginx's tokenising rules, statements with file:line, exactly one
// parse, round trip through the printer, and the committed generated grammar being fresh.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { lexConf } from '../../grammar/lexer.js'
import type { Statement } from '../../lib/conf/ast.js'
import { parseConf } from '../../lib/conf/load.js'
import { printConf } from '../../lib/conf/print.js'
import { ConfError } from '../../lib/core/errors.js'
import { compileGrammar, grammarOutput } from '../../scripts/build-grammar.js'
import { fixturesDir, repoRoot } from '../helpers/edge.js'

type Shape = { name: string, args: readonly string[], block: Shape[] | null }
const shape = (list: readonly Statement[]): Shape[] =>
  list.map((s) => ({ name: s.name, args: s.args, block: s.block === null ? null : shape(s.block) }))

function syntaxError(text: string): string {
  try {
    parseConf(text, 'f.conf')
  } catch (err) {
    if (err instanceof ConfError) return err.format()
    throw err
  }
  return 'no error'
}

t.test('generated grammar is fresh', async (t) => {
  t.equal(readFileSync(grammarOutput, 'utf8'), compileGrammar(), 'run `npm run build:grammar` after editing grammar/nginx.ne')
})

t.test('tokens as ngx_conf_read_token splits them', async (t) => {
  const words = (text: string) => lexConf(text, 'f').map((x) => x.value)
  t.same(words('a b;'), ['a', 'b', ';'])
  t.same(words('a}b;'), ['a}b', ';'], '"}" does not end a bare word')
  t.same(words('a{b'), ['a', '{', 'b'], '"{" ends a bare word')
  t.same(words('set $x ${y}z;'), ['set', '$x', '${y}z', ';'], '${...} stays one word')
  t.same(words('a#b # comment\n;'), ['a#b', ';'], '"#" starts a comment only at a token start')
  t.same(words(`x "a b" 'c;d';`), ['x', 'a b', 'c;d', ';'])
  t.same(words('x "q\\"t" a\\;b;'), ['x', 'q"t', 'a\\;b', ';'], 'a backslash escapes ";" but stays unless before a quote or backslash')
  t.same(words('x "\\t\\n\\r\\\\\\x";'), ['x', '\t\n\r\\\\x', ';'], '\\t \\n \\r \\\\ are unescaped, others kept')
  t.same(words('if ($a = "b") {'), ['if', '($a', '=', 'b', ')', '{'], '")" may follow a quote')
  t.same(lexConf('a\n"b\nc"\n;', 'f').map((x) => x.line), [1, 3, 4], 'a token reports the line it ends on')
})

t.test('syntax errors carry nginx messages and lines', async (t) => {
  t.equal(syntaxError('a "b"c;'), '[emerg] unexpected "c" in f.conf:1')
  t.equal(syntaxError('a {\n b c\n}'), '[emerg] unexpected "}" in f.conf:3')
  t.equal(syntaxError('}'), '[emerg] unexpected "}" in f.conf:1')
  t.equal(syntaxError('a;\n;'), '[emerg] unexpected ";" in f.conf:2')
  t.equal(syntaxError('{'), '[emerg] unexpected "{" in f.conf:1')
  t.equal(syntaxError('a {\n b;\n'), '[emerg] unexpected end of file, expecting "}" in f.conf:3')
  t.equal(syntaxError('a b'), '[emerg] unexpected end of file, expecting ";" or "}" in f.conf:1')
  t.equal(syntaxError('a "b\n\n'), '[emerg] unexpected end of file, expecting ";" or "}" in f.conf:3')
  t.equal(syntaxError('a\\'), '[emerg] unexpected end of file, expecting ";" or "}" in f.conf:1')
  t.equal(syntaxError('a ' + 'x'.repeat(5000) + ';'), '[emerg] too long parameter "xxxxxxxxxx..." started in f.conf:1')
  t.equal(syntaxError('a "' + 'x'.repeat(5000)), '[emerg] too long parameter, probably missing terminating """ character in f.conf:1')
  t.equal(syntaxError('a {'.repeat(100)), '[emerg] blocks nested deeper than 64 levels in f.conf:1')
})

t.test('statements: name, args, block, file and the line of ";" or "{"', async (t) => {
  const s = parseConf('rtmp {\n  server {\n    listen\n      1935;\n  }\n}\n', 'n.conf')
  t.equal(s.length, 1)
  t.equal(s[0].name, 'rtmp')
  t.equal(s[0].line, 1)
  const listen = (s[0].block as Statement[])[0].block as Statement[]
  t.same({ ...listen[0] }, { name: 'listen', args: ['1935'], quoted: [false], block: null, file: 'n.conf', line: 4 })
})

function* confFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) yield* confFiles(p)
    else if (name.endsWith('.conf') || name === 'mime.types') yield p
  }
}

t.test('round trip: parse → print → parse gives the same statements', async (t) => {
  const files = [...confFiles(join(repoRoot, 'conf')), ...confFiles(join(fixturesDir, 'conf'))]
  let checked = 0
  for (const file of files) {
    let first: Statement[]
    try {
      first = parseConf(readFileSync(file, 'utf8'), file)
    } catch (err) {
      if (err instanceof ConfError) continue // a syntax-error fixture
      throw err
    }
    const printed = printConf(first)
    t.same(shape(parseConf(printed, 'printed')), shape(first), file)
    checked++
  }
  const tricky = 'x "a b" \'c"d\' e\\;f "" "#h" "{" "\\\\" "}" ${v} "$" "line\nbreak" a"b;\nblock "q" { inner; }\n'
  t.same(shape(parseConf(printConf(parseConf(tricky, 't')), 'p')), shape(parseConf(tricky, 't')), 'quoting corner cases')
  t.ok(checked >= 1, `${checked} files round-tripped`)
})
