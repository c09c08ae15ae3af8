// `npm run fuzz`, short: a few hundred inputs of every target (seeds first), all checks on,
// and no finding allowed. Before that, the checks themselves are shown to fail when they
// should: a target that hands out an unfilled Buffer.allocUnsafe, one that throws a plain
// TypeError, one whose output depends on how its input was split, and a slow one.
import t from 'tap'
import { ProtocolError } from '../../lib/core/errors.js'
import { installCanary } from '../../scripts/fuzz/canary.js'
import { checkInput, spreadCuts, type Finding } from '../../scripts/fuzz/check.js'
import { fuzzLoop } from '../../scripts/fuzz/loop.js'
import { Outcome } from '../../scripts/fuzz/outcome.js'
import type { Target } from '../../scripts/fuzz/target.js'
import { TARGET_NAMES, makeTarget } from '../../scripts/fuzz/targets/index.js'

installCanary()

/** inputs per target, seeds included; each target also stops after SMOKE_TARGET_MS */
const SMOKE_INPUTS = 1500
const SMOKE_TARGET_MS = 2500
const BUDGET_MS = 250

/** A resumable stand-in target whose run() is `body`. */
function fake(name: string, body: (input: Buffer, cut: number | null, out: Outcome) => void): Target {
  return {
    name,
    about: 'checker self-test',
    resumable: true,
    maxInputBytes: 64,
    generatedShare: 0,
    seeds: () => [],
    fields: () => [],
    run(input, cut) {
      const out = new Outcome()
      out.guard(name, () => body(input, cut, out))
      return out
    },
  }
}

const INPUT = Buffer.from('0123456789abcdef0123456789abcdef')
const check = (target: Target): Finding[] => checkInput(target, INPUT, { cuts: spreadCuts(INPUT.length, 64), budgetMs: BUDGET_MS }).findings
const kinds = (fs: Finding[]): string[] => [...new Set(fs.map((f) => f.kind))].sort()

t.test('the checks find what they are for', async (t) => {
  t.same(kinds(check(fake('copies its input', (input, _cut, out) => out.emit('copy', Buffer.from(input))))), [], 'a correct target: no finding')

  const unfilled = check(fake('unfilled allocUnsafe', (input, _cut, out) => {
    const b = Buffer.allocUnsafe(input.length + 16)
    input.copy(b) // the last 16 bytes are never written
    out.emit('message', b)
  }))
  t.same(kinds(unfilled), ['never-sent'], 'an unfilled Buffer.allocUnsafe tail is found')
  t.match(unfilled[0].detail, /canary at byte 32 of message/)

  const short = check(fake('3 unfilled bytes', (input, _cut, out) => {
    const b = Buffer.allocUnsafe(input.length + 3)
    input.copy(b, 3) // the first 3 bytes: too short to hold the whole 8-byte pattern
    out.emit('message', b)
  }))
  t.same(kinds(short), ['never-sent'], 'a gap shorter than the canary is found by the run with the other canary')

  t.same(kinds(check(fake('TypeError', () => { throw new TypeError('x is not a function') }))), ['crash'], 'an untyped exception is a crash')
  t.same(kinds(check(fake('ProtocolError', () => { throw new ProtocolError('ERR_RTMP_CHUNK', 'bad chunk') }))), [], 'a typed error is an outcome, not a crash')

  t.same(kinds(check(fake('depends on the split', (input, cut, out) => out.emit(`pieces ${cut === null ? 1 : 2}`, input)))), ['split'],
    'output that depends on where the input was split is found')

  t.same(kinds(check(fake('slow', () => {
    const until = performance.now() + BUDGET_MS + 20
    while (performance.now() < until) { /* busy */ }
  }))), ['hang'], 'a run over the budget is a hang')
})

for (const name of TARGET_NAMES) {
  t.test(`${name}: ${SMOKE_INPUTS} inputs, no finding`, async (t) => {
    const found: string[] = []
    const stats = await fuzzLoop(makeTarget(name), {
      n: SMOKE_INPUTS,
      seed: 1,
      timeMs: SMOKE_TARGET_MS,
      budgetMs: BUDGET_MS,
      cuts: 2,
      heapLimitMiB: 256,
      minimize: false,
      onFinding: (f, index) => { if (found.length < 5) found.push(`#${index} ${f.kind}: ${f.signature}\n${f.detail.slice(0, 600)}`) },
    })
    t.ok(stats.inputs > 0, `${stats.inputs} inputs in ${(stats.ms / 1000).toFixed(1)} s`)
    const total = Object.values(stats.counts).reduce((a, b) => a + b, 0)
    t.equal(total, 0, `inputs with findings: ${JSON.stringify(stats.counts)}\n${found.join('\n')}`)
  })
}
