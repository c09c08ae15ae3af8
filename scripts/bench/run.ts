// `npm run bench`: runs every scripts/bench/*.bench.js in its own process, one after another,
// so that no benchmark's heap or JIT state leaks into the next.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const only = process.argv[2]
let failed = 0
for (const name of readdirSync(here).filter((n) => n.endsWith('.bench.js')).sort()) {
  if (only !== undefined && !name.includes(only)) continue
  console.log(`\n=== ${name.replace(/\.js$/, '')} ===`)
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, name)], { stdio: 'inherit' })
  if (r.status !== 0) failed++
}
process.exitCode = failed === 0 ? 0 : 1
