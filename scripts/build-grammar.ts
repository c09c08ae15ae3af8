// Compiles grammar/nginx.ne with nearleyc into grammar/nginx.generated.ts (committed).
// test/conf/grammar-fresh.test.ts compiles it again and fails if the committed file differs.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const grammarSource = join(repoRoot, 'grammar', 'nginx.ne')
export const grammarOutput = join(repoRoot, 'grammar', 'nginx.generated.ts')

const HEADER = '// generated from grammar/nginx.ne by `npm run build:grammar`, do not edit\n'

export function compileGrammar(): string {
  const nearleyc = createRequire(import.meta.url).resolve('nearley/bin/nearleyc.js')
  const out = execFileSync(process.execPath, [nearleyc, grammarSource], { encoding: 'utf8' })
  return HEADER + out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(grammarOutput, compileGrammar())
  console.log(`wrote ${grammarOutput}`)
}
