// rtmp_control, row by row as pingos-observed.md §15 lists them (statuses, headers, bodies, and
// what the selected sessions see), on a node with `listen <port>`: live/cam1 pulled from an
// origin edge with an RTMP and an HTTP-FLV player, push/p1 published by an AMF-level client and
// pushed to another edge. Pause/resume and record are in control-pause-record.test.ts, redirect
// in control-redirect.test.ts, the drop of the pull leg (scenario 34) in control-scenario34.test.ts.
//
// Where edge deliberately differs: the Server header and the error-page footer carry edge's
// name, so the 500 page is 175 bytes where PingOS's is 177.
import t, { type Test } from 'tap'
import { errorPage } from '../helpers/expected.js'
import { clientIdFromLog } from '../helpers/notify.js'
import { pacedPublisher } from '../helpers/push-scenarios.js'
import { RawHttpClient, type RawResponse } from '../helpers/raw-http.js'
import { listsClients, section15Node, STAT_WAIT_MS, statWhen } from '../helpers/stats.js'

/** bound on a dropped session seeing its connection closed */
const CLOSE_WAIT_MS = 5000

/** The answer to a count: 200, no Content-Type, Content-Length, keep-alive, the count as the body. */
function isCount(t: Test, res: RawResponse, count: string, what: string): void {
  t.equal(res.statusLine, 'HTTP/1.1 200 OK', `${what}: 200`)
  t.same(res.headers.map(([k]) => k), ['Server', 'Date', 'Content-Length', 'Connection'], `${what}: no Content-Type`)
  t.equal(res.headers.find(([k]) => k === 'Content-Length')?.[1], String(count.length), `${what}: Content-Length`)
  t.equal(res.headers.find(([k]) => k === 'Connection')?.[1], 'keep-alive', `${what}: keep-alive`)
  t.equal(res.body.toString('latin1'), count, `${what}: body ${count}`)
}

/** GET `target` on a connection of its own; the answer and whether the node then closed it. */
async function ask(port: number, target: string): Promise<{ res: RawResponse, closed: boolean }> {
  const c = await RawHttpClient.request(port, target)
  try {
    const res = await c.response()
    const closed = res.headers.some(([k, v]) => k === 'Connection' && v === 'close')
      ? await c.waitClosed().then(() => true, () => false)
      : c.closed
    return { res, closed }
  } finally {
    await c.close()
  }
}

t.test('rtmp_control: the rows of observed §15', async (t) => {
  const { target, node, h, r } = await section15Node(t)
  const rId = await clientIdFromLog(node.edge, r.client.socket.localPort ?? 0)
  const pub = await pacedPublisher(t, node.rtmpPort, 'push', 'p1')
  await node.edge.waitForLog(/push: publishing, app: push, name: p1/, STAT_WAIT_MS)
  await statWhen(node, (x) => listsClients('cam1', 3)(x) && listsClients('p1', 2)(x))
  const get = (target: string): Promise<{ res: RawResponse, closed: boolean }> => ask(node.httpPort, target)

  await t.test('no srv → 500, nginx\'s page, Connection: close', async (t) => {
    const { res, closed } = await get('/control/drop/client?app=live&name=cam1')
    const page = errorPage('500 Internal Server Error')
    t.equal(res.statusLine, 'HTTP/1.1 500 Internal Server Error', '500')
    t.same(res.headers.filter(([k]) => k !== 'Date' && k !== 'Server'),
      [['Content-Type', 'text/html'], ['Content-Length', String(page.length)], ['Connection', 'close']], 'text/html, Content-Length, Connection: close')
    t.equal(res.body.toString('latin1'), page, 'the 500 page')
    t.ok(closed, 'the connection is closed')
  })

  await t.test('an unknown srv or app → 200 `0`, no Content-Type, keep-alive', async (t) => {
    const c = await RawHttpClient.open(node.httpPort)
    t.teardown(() => c.close())
    c.send(`GET /control/drop/client?srv=nosuch HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /control/drop/client?srv=edge&app=nosuch HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
    isCount(t, await c.response(), '0', 'srv=nosuch')
    isCount(t, await c.response(), '0', 'srv=edge&app=nosuch, on the same connection')
  })

  await t.test('an unknown section → 404 (keep-alive); an unknown method → 500', async (t) => {
    const notFound = await get('/control/foo/bar?srv=edge')
    t.equal(notFound.res.status, 404, '/control/foo/bar: 404')
    t.equal(notFound.res.body.toString('latin1'), errorPage('404 Not Found'), 'nginx\'s 404 page')
    t.equal(notFound.res.headers.find(([k]) => k === 'Connection')?.[1], 'keep-alive', 'keep-alive')
    t.equal((await get('/control/drop/foo?srv=edge')).res.status, 500, '/control/drop/foo: 500')
  })

  await t.test('addr= is the listen text: 127.0.0.1 matches nothing on `listen <port>`', async (t) => {
    isCount(t, (await get('/control/drop/client?srv=edge&app=live&name=cam1&addr=127.0.0.1')).res, '0', 'addr=127.0.0.1')
    isCount(t, (await get(`/control/drop/subscriber?srv=edge&app=push&name=p1&addr=127.0.0.1:${node.rtmpPort}`)).res, '0',
      `addr=127.0.0.1:${node.rtmpPort}`)
    t.notOk(r.client.closed || h.closed || pub.client.closed, 'nobody was dropped')
  })

  await t.test('redirect without newname → 500', async (t) => {
    t.equal((await get('/control/redirect/subscriber?srv=edge&app=live&name=cam1')).res.status, 500, '500')
    t.notOk(r.client.closed || h.closed, 'the players stay')
  })

  await t.test('record start or stop in an application with no recorder → 500', async (t) => {
    t.equal((await get('/control/record/start?srv=edge&app=push&name=p1')).res.status, 500, 'start: 500')
    t.equal((await get('/control/record/stop?srv=edge&app=push&name=p1')).res.status, 500, 'stop: 500')
  })

  await t.test(`drop/subscriber addr=${node.listenText} of push/p1: the push leg, which reconnects`, async (t) => {
    const first = /\*(\d+) publish: name='p1'/.exec(target.edge.log())?.[1]
    isCount(t, (await get(`/control/drop/subscriber?srv=edge&app=push&name=p1&addr=${node.listenText}`)).res, '1', 'the push leg')
    await target.edge.waitForLog(new RegExp(`\\*(?!${first} )\\d+ publish: name='p1'`), STAT_WAIT_MS)
    t.pass('the target sees a new publish, on a new connection')
    t.notOk(pub.client.closed, 'the publisher stays')
    await statWhen(node, listsClients('p1', 2))
  })

  await t.test('drop/subscriber clientid=<the RTMP player>: a TCP close, no onStatus', async (t) => {
    const from = r.client.messages.length
    isCount(t, (await get(`/control/drop/subscriber?srv=edge&app=live&name=cam1&clientid=${rId}`)).res, '1', `clientid=${rId}`)
    await r.client.until(() => r.client.closed, CLOSE_WAIT_MS, 'the close')
    t.same(r.client.messages.slice(from).filter((m) => m.values !== null).map((m) => m.values?.[0]), [],
      'no command or status before the close')
    t.notOk(h.closed, 'the HTTP-FLV player stays')
  })

  await t.test('drop/client app=push: the publisher and the push leg (2); the publisher gets no onStatus', async (t) => {
    const from = pub.client.messages.length
    isCount(t, (await get('/control/drop/client?srv=edge&app=push')).res, '2', 'app=push')
    await pub.client.until(() => pub.client.closed, CLOSE_WAIT_MS, 'the publisher\'s close')
    t.same(pub.client.messages.slice(from).filter((m) => m.values?.[0] === 'onStatus'), [], 'no onStatus before the close')
  })
})
