// FsLimiter (lib/record/fs-limit.ts) with calls the test answers itself: at most maxOps in
// flight, a call past its deadline rejected and still counted until it returns (then `late`),
// the next calls on its directory refused at once, other directories going on within the
// threads recording may take (the pool's size less one).
import t from 'tap'
import { FsDeadlineError, FsLimiter } from '../../lib/record/fs-limit.js'

/** the deadline of the limiter under test */
const DEADLINE_MS = 100

interface Call {
  started: boolean
  answer(): void
  run(): Promise<string>
}

function call(name: string): Call {
  let answer = (): void => {}
  const c: Call = {
    started: false,
    answer: () => answer(),
    run: () => {
      c.started = true
      return new Promise<string>((resolve) => { answer = () => resolve(name) })
    },
  }
  return c
}

t.test('at most maxOps in flight, the next one when one returns', async (t) => {
  const fs = new FsLimiter({ maxOps: 2, deadlineMs: 10_000, poolThreads: 4 })
  const calls = [call('a'), call('b'), call('c')]
  const results = calls.map((c) => fs.run('/d', c.run))
  t.same(calls.map((c) => c.started), [true, true, false])
  calls[0].answer()
  t.equal(await results[0], 'a')
  t.same(calls.map((c) => c.started), [true, true, true], 'c takes the turn a left')
  calls[1].answer()
  calls[2].answer()
  t.same(await Promise.all(results.slice(1)), ['b', 'c'])
})

t.test('a call past its deadline: rejected, its directory refused, the thread counted until it returns', async (t) => {
  const fs = new FsLimiter({ maxOps: 2, deadlineMs: DEADLINE_MS, poolThreads: 4 })
  const hung = [call('h1'), call('h2')]
  let late = 0
  const hungResults = hung.map((c) => fs.run('/hung', c.run, () => { late++ }))
  const queued = call('q')
  const queuedResult = fs.run('/hung', queued.run)
  const errors = await Promise.all([...hungResults, queuedResult].map((r) => r.then(() => null, (e: unknown) => e)))
  t.same(errors.map((e) => e instanceof FsDeadlineError && e.refused), [false, false, true],
    'the hung calls past their deadline; the queued one refused when its directory got stuck')
  t.notOk(queued.started, 'the queued call on the stuck directory was never made')
  t.equal(fs.stuckCalls, 2)
  const refused = await fs.run('/hung', call('r').run).then(() => null, (e: unknown) => e)
  t.ok(refused instanceof FsDeadlineError && refused.refused, 'a new call on the stuck directory: refused at once')
  // pool 4, one kept, two stuck: one call at a time for the other directories
  const other = [call('o1'), call('o2')]
  const otherResults = other.map((c) => fs.run('/ok', c.run))
  t.same(other.map((c) => c.started), [true, false], 'one thread left to recording')
  other[0].answer()
  t.equal(await otherResults[0], 'o1')
  t.ok(other[1].started)
  other[1].answer()
  t.equal(await otherResults[1], 'o2')
  hung[0].answer()
  hung[1].answer()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(late, 2, 'late ran once each call returned')
  t.equal(fs.stuckCalls, 0)
  const again = call('x')
  const result = fs.run('/hung', again.run)
  t.ok(again.started, 'the directory is used again')
  again.answer()
  t.equal(await result, 'x')
})

t.test('a close is not refused on a stuck directory', async (t) => {
  const fs = new FsLimiter({ maxOps: 2, deadlineMs: DEADLINE_MS, poolThreads: 4 })
  const hung = call('h')
  const r = fs.run('/hung', hung.run)
  t.ok(await r.then(() => false, (e: unknown) => e instanceof FsDeadlineError))
  const close = call('close')
  const closed = fs.run('/hung', close.run, () => {}, false)
  t.ok(close.started)
  close.answer()
  t.equal(await closed, 'close')
  hung.answer()
})
