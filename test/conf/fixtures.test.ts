// One folder per config case under test/fixtures/conf/<case>/: `nginx.conf` (plus any files it
// includes) and `expected.txt`, the exact stderr of `edge -t -c <case>/nginx.conf`, with
// `<dir>` standing for the case folder's absolute path. The exit code must be 1 when the
// expected output ends in "test failed", else 0. An optional `args.txt` holds extra
// command-line arguments, one per line. The start-up line naming accepted-but-unimplemented
// directives is compared only when expected.txt contains one (it changes as edge grows).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { fixturesDir, runEdge } from '../helpers/edge.js'

const UNIMPLEMENTED = /^edge: \[warn\] accepted but not implemented/
const root = join(fixturesDir, 'conf')

for (const name of readdirSync(root).sort()) {
  const dir = join(root, name)
  t.test(name, async (t) => {
    const expected = readFileSync(join(dir, 'expected.txt'), 'utf8').replaceAll('<dir>', dir)
    const argsFile = join(dir, 'args.txt')
    const extra = existsSync(argsFile) ? readFileSync(argsFile, 'utf8').split('\n').filter((l) => l !== '') : []
    const r = await runEdge(['-t', '-c', join(dir, 'nginx.conf'), ...extra], { cwd: dir })
    const keepWarn = UNIMPLEMENTED.test(expected.split('\n')[0] ?? '')
    const stderr = r.stderr.split('\n').filter((l) => keepWarn || !UNIMPLEMENTED.test(l)).join('\n')
    t.equal(stderr, expected)
    t.equal(r.code, expected.trimEnd().endsWith('test failed') ? 1 : 0)
    t.equal(r.stdout, '')
  })
}
