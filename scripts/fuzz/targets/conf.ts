// Target `conf`: configuration text through the loader and checker as `edge -t` runs them
// (lib/conf/load.ts parseConf and ConfLoader, lib/conf/contexts.ts applyStatements and
// buildTree): grammar, directive table, setters, value parsers, merge. The main file is read
// from the input instead of a file; includes are real files, resolved against the directory
// of test/fixtures/conf/full-includes (which has a conf.d/ tree and mime.types).
//
// Sandbox: an include that resolves outside conf/ and test/fixtures/conf/ is refused with a
// ConfError instead of read (a mutated config could otherwise name /dev/zero or glob the
// whole disk). Errors must be ConfErrors; config text has no streaming parser, so there is
// no split check.
import { join, resolve, sep } from 'node:path'
import { applyStatements, buildTree, newMainScope } from '../../../lib/conf/contexts.js'
import { DIRECTIVES } from '../../../lib/conf/directives.js'
import { ConfLoader, parseConf } from '../../../lib/conf/load.js'
import type { Statement } from '../../../lib/conf/ast.js'
import { ConfError } from '../../../lib/core/errors.js'
import { filesIn, repoRoot } from '../corpus.js'
import { readFileSync, readdirSync } from 'node:fs'
import { Outcome } from '../outcome.js'
import type { Rng } from '../rng.js'
import type { Target } from '../target.js'

const HOME = join(repoRoot, 'test', 'fixtures', 'conf', 'full-includes')
const ALLOWED_ROOTS = [join(repoRoot, 'conf') + sep, join(repoRoot, 'test', 'fixtures', 'conf') + sep]

class SandboxLoader extends ConfLoader {
  override include(stmt: Statement): Statement[] {
    const target = resolve(this.confPrefix, stmt.args[0])
    if (!ALLOWED_ROOTS.some((root) => target.startsWith(root))) {
      throw new ConfError({ file: stmt.file, line: stmt.line }, `fuzz sandbox: include "${stmt.args[0]}" is outside conf/ and test/fixtures/conf/`)
    }
    return super.include(stmt)
  }
}

/** argument words that reach the value parsers' edges */
const ARGS = [
  'on', 'off', 'copy', '0', '1', '-1', '1s', '10ms', '5m', '1h', '3d', '1k', '6m', '2g', '99999999999999999999', '0x10', '1.5',
  '1935', '127.0.0.1:1935', '[::1]:1935', 'unix:/tmp/x.sock', '65536', 'rtmp://127.0.0.1:1935/live', 'http://127.0.0.1/x',
  'rtmp://', 'app=live', 'name=$name', '$args', '${name}', '$', '"quoted arg"', "'single'", 'a\\;b', '*', 'live', '/flv',
  'stage=start,update,done', 'timeout=1s', 'default_server', 'ssl', 'all', 'allow', 'deny', '#comment', '""', '{', '}', ';',
]

/** Line-level edits with directive names from the table and arguments from ARGS. */
function generateConf(rng: Rng, seeds: readonly Buffer[]): Buffer {
  const lines = rng.pick(seeds).toString('utf8').split('\n')
  const names = [...DIRECTIVES.keys()]
  const edits = 1 + rng.small(5)
  for (let i = 0; i < edits; i++) {
    const at = rng.int(lines.length + 1)
    const op = rng.int(5)
    if (op <= 1) {
      const args = Array.from({ length: rng.small(4) }, () => rng.pick(ARGS))
      const block = rng.chance(0.15)
      lines.splice(at, 0, `${rng.pick(names)} ${args.join(' ')}${block ? ' {' : ';'}`, ...(block ? ['}'] : []))
    } else if (op === 2 && lines.length > 0) {
      lines.splice(Math.min(at, lines.length - 1), 1)
    } else if (op === 3 && lines.length > 0) {
      lines.splice(at, 0, lines[rng.int(lines.length)])
    } else if (lines.length > 0) {
      const j = rng.int(lines.length)
      const words = lines[j].trim().split(/\s+/)
      words[rng.int(words.length)] = rng.pick(ARGS)
      lines[j] = words.join(' ')
    }
  }
  return Buffer.from(lines.join('\n'), 'utf8')
}

function confSeeds(): Buffer[] {
  const files = [
    join(repoRoot, 'conf', 'nginx.conf'),
    ...filesIn(join(repoRoot, 'conf', 'examples'), '.conf'),
    join(repoRoot, 'conf', 'examples', 'includes', 'nginx.conf'),
  ]
  const fixtures = join(repoRoot, 'test', 'fixtures', 'conf')
  for (const name of readdirSync(fixtures).sort()) files.push(...filesIn(join(fixtures, name), 'nginx.conf'))
  return files.map((f) => readFileSync(f))
}

export function confTarget(): Target {
  let seeds: Buffer[] | null = null
  const target: Target = {
    name: 'conf',
    about: 'config text → parseConf → applyStatements (includes in a sandbox) → buildTree',
    resumable: false,
    maxInputBytes: 32 * 1024,
    generatedShare: 0.4,
    seeds() {
      seeds ??= confSeeds()
      return seeds
    },
    fields(input) {
      const fields: number[] = []
      for (let i = 0; i < input.length && fields.length < 1024; i++) if (input[i] === 0x20 || input[i] === 0x0a) fields.push(i + 1)
      return fields
    },
    generate: (rng) => generateConf(rng, target.seeds()),
    run(input) {
      const out = new Outcome()
      const file = join(HOME, 'fuzz.conf')
      out.guard('load', () => {
        const main = newMainScope()
        const unimplemented = new Map()
        applyStatements(parseConf(input.toString('utf8'), file), main, new SandboxLoader(HOME), unimplemented)
        const tree = buildTree(main, HOME, file)
        out.emit(`tree rtmp servers=${tree.rtmp?.servers.length ?? 0} http servers=${tree.http?.servers.length ?? 0} unimplemented=${unimplemented.size}`)
      })
      return out
    },
  }
  return target
}
