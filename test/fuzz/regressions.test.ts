// Every input the fuzzer has found a bug with (test/fixtures/fuzz/crashes/<target>/, see the
// README there), replayed through the checks of `npm run fuzz`: split at every offset (or at
// 256 spread offsets for longer inputs), both canaries, the time budget. Each must come out
// clean once its bug is fixed. `.gz` files are gunzipped first (long inputs that compress).
import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import t from 'tap'
import { installCanary } from '../../scripts/fuzz/canary.js'
import { checkInput, spreadCuts } from '../../scripts/fuzz/check.js'
import { filesIn, regressionsDir } from '../../scripts/fuzz/corpus.js'
import { DEFAULT_BUDGET_MS } from '../../scripts/fuzz/loop.js'
import { TARGET_NAMES, makeTarget } from '../../scripts/fuzz/targets/index.js'

installCanary()

/** split offsets tried per input */
const MAX_CUTS = 256

let files = 0
for (const name of TARGET_NAMES) {
  const inputs = [...filesIn(join(regressionsDir, name), '.bin'), ...filesIn(join(regressionsDir, name), '.bin.gz')]
  if (inputs.length === 0) continue
  const target = makeTarget(name)
  for (const file of inputs) {
    files++
    t.test(`${name}/${basename(file)}`, async (t) => {
      const raw = readFileSync(file)
      const input = file.endsWith('.gz') ? gunzipSync(raw) : raw
      const cuts = target.resumable ? spreadCuts(input.length, MAX_CUTS) : []
      const { findings } = checkInput(target, input, { cuts, budgetMs: DEFAULT_BUDGET_MS })
      t.same(findings.map((f) => `${f.kind}: ${f.signature}`), [], findings.map((f) => f.detail.slice(0, 800)).join('\n\n'))
    })
  }
}

t.ok(files > 0, `${files} regression inputs`)
