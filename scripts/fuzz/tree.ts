// A config tree built from text in memory, exactly as `edge -c` builds it from a file (the
// same parser, directive table and merge), for targets that need the node's settings.
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { applyStatements, buildTree, newMainScope } from '../../lib/conf/contexts.js'
import { ConfLoader, parseConf } from '../../lib/conf/load.js'
import type { MainConf } from '../../lib/conf/tree.js'

export function treeFromText(text: string, name = 'fuzz.conf'): MainConf {
  const dir = tmpdir()
  const file = join(dir, name)
  const main = newMainScope()
  applyStatements(parseConf(text, file), main, new ConfLoader(dir), new Map())
  return buildTree(main, dir, file)
}
