// on_proc and on_master (issue 10; pingos-behaviour.md §4.7; pingos-observed.md §12): the
// process-level notifications edge sends once it has started (one process: worker 0, which
// is also the "master"). Each subtest starts its own edge with rtmp{}-level lines and its own
// notify server.
//
// What edge must do (contract of issue 10):
//   - on_proc: `GET <url>?call=init_process&worker_id=0` once; `args=` ignored; `?` appended
//     even when the URL has a query;
//   - on_master: `GET <url>?call=init_master&act=start[&<args>]`, then with stage update every
//     `update=` `act=update` with the same args, whatever the answers; args expanded (a fix:
//     PingOS sends `$<index>` for each variable, observed §12).
import t, { type Test } from 'tap'
import { absent, byPath, checkNotifyHead, notifyServer, pathOf, startNotifyEdge, withAct } from '../helpers/notify.js'
import { reply, type RecordedRequest } from '../helpers/origins.js'
import { actOf, requestWhere } from '../helpers/pull-scenarios.js'

/** `update=1s` of the on_master lines */
const UPDATE_MS = 1000
/** period tolerance for a loaded 2-core machine (observed: 999–1003 ms) */
const PERIOD_TOLERANCE_MS = 150
/** how long a start-up notification may take once edge logged "started" */
const STARTUP_WAIT_MS = 5000
/** how long edge is watched for requests that must not come (past two update periods) */
const WATCH_MS = 2 * UPDATE_MS + 500

const onPath = (path: string) => (r: RecordedRequest): boolean => pathOf(r) === path

t.test('on_proc and on_master: the start-up requests, and master updates every 1 s whatever the answer', async (t: Test) => {
  // on_master is answered 500: updates go on regardless (§4.7)
  const notify = await notifyServer(t, byPath({ '/master': reply(500) }))
  const url = `http://127.0.0.1:${notify.port}`
  await startNotifyEdge(t, {
    rtmp: `on_proc ${url}/proc args=a=1;\n    on_master ${url}/master stage=start,update update=1s args=sid=$serverid&x=1;`,
    apps: { live: '' },
  })

  const proc = await requestWhere(notify, onPath('/proc'), 0, STARTUP_WAIT_MS)
  t.equal(proc.line, 'GET /proc?call=init_process&worker_id=0 HTTP/1.1', 'on_proc: call=init_process&worker_id=0, its args= ignored')
  checkNotifyHead(t, proc.headers, 'on_proc')

  const start = await requestWhere(notify, onPath('/master'), 0, STARTUP_WAIT_MS)
  t.match(start.line, /^GET \/master\?call=init_master&act=start&sid=[^&$ ]*&x=1 HTTP\/1\.1$/,
    `on_master: call=init_master&act=start and its args, $serverid expanded (not "$<index>"): ${start.line}`)
  checkNotifyHead(t, start.headers, 'on_master')

  const u0 = await requestWhere(notify, (r) => onPath('/master')(r) && actOf(r) === 'update', 0, UPDATE_MS + 2000)
  const u1 = await requestWhere(notify, (r) => onPath('/master')(r) && actOf(r) === 'update', 1, UPDATE_MS + 2000)
  for (const u of [u0, u1]) t.equal(u.line, withAct(start.line, 'update'), 'act=update: the start line with act=update')
  const first = u0.at - start.at
  const second = u1.at - u0.at
  t.ok(Math.abs(first - UPDATE_MS) <= PERIOD_TOLERANCE_MS, `the first update ${first} ms after the start (1000 ± ${PERIOD_TOLERANCE_MS})`)
  t.ok(Math.abs(second - UPDATE_MS) <= PERIOD_TOLERANCE_MS, `the second ${second} ms after the first (1000 ± ${PERIOD_TOLERANCE_MS})`)
  t.equal(notify.requests.filter(onPath('/proc')).length, 1, 'on_proc was sent once')
  t.ok(notify.requests.every((r) => r.line.startsWith('GET /proc?') || r.line.startsWith('GET /master?')), 'nothing else was sent')
})

t.test('on_proc with a query in its URL gets "?" appended all the same; on_master without stage update sends no update', async (t: Test) => {
  const notify = await notifyServer(t, reply(200))
  const url = `http://127.0.0.1:${notify.port}`
  await startNotifyEdge(t, {
    rtmp: `on_proc ${url}/proc?k=v;\n    on_master ${url}/master update=1s args=x=1;`,
    apps: { live: '' },
  })
  const proc = await requestWhere(notify, onPath('/proc'), 0, STARTUP_WAIT_MS)
  t.equal(proc.line, 'GET /proc?k=v?call=init_process&worker_id=0 HTTP/1.1', 'on_proc: "?call=..." after the URL\'s own query, as PingOS')
  const start = await requestWhere(notify, onPath('/master'), 0, STARTUP_WAIT_MS)
  t.equal(start.line, 'GET /master?call=init_master&act=start&x=1 HTTP/1.1', 'on_master: call=init_master&act=start&x=1')
  t.ok(await absent(notify, onPath('/master'), WATCH_MS), `no act=update within ${WATCH_MS} ms (stage has no update)`)
})
