// Issue 12: a request with a method other than GET or HEAD on an HTTP-FLV location is answered
// as nginx's content handlers answer a method they do not serve (405 Not Allowed, nginx's error
// page, the connection kept), with the module's CORS headers; it never plays. A HEAD answers
// whether the stream is published now, and starts nothing either. PingOS's handler
// checks no method and plays them all (docs/compat.md). "Never plays" is read where a play
// would show: the on_play server gets no request, the origin no connection, the log no play.
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { errorPage, SERVER_NAME } from '../helpers/expected.js'
import { startLiveEdge } from '../helpers/node.js'
import { notifyServer } from '../helpers/notify.js'
import { reply } from '../helpers/origins.js'
import { RawHttpClient } from '../helpers/raw-http.js'

const NOT_ALLOWED_HEADERS = ['Server', 'Date', 'Content-Type', 'Content-Length', 'Connection', 'Cache-Control',
  'Access-Control-Allow-Origin', 'Access-Control-Allow-Credentials', 'Access-Control-Expose-Headers', 'Access-Control-Allow-Headers']

// an origin that only counts connections: a pull would be one
const originSockets: Socket[] = []
const origin = createServer((s) => originSockets.push(s))
origin.listen(0, '127.0.0.1')
await once(origin, 'listening')
t.teardown(async () => {
  for (const s of originSockets) s.destroy()
  origin.close()
  await once(origin, 'close')
})
const originPort = (origin.address() as { port: number }).port
const notify = await notifyServer(t, reply(200))
const { edge, httpPort } = await startLiveEdge(t, {
  app: `on_play http://127.0.0.1:${notify.port}/play;\n            pull rtmp://127.0.0.1:${originPort} app=live;`,
  flv: { '/live': 'app=live' },
})

for (const method of ['OPTIONS', 'POST', 'PUT', 'DELETE']) {
  t.test(`${method} /live/x.flv → 405 Not Allowed, connection kept, no play`, async (t) => {
    const c = await RawHttpClient.request(httpPort, '/live/x.flv', { method })
    t.teardown(() => c.close())
    const res = await c.response()
    t.equal(res.statusLine, 'HTTP/1.1 405 Not Allowed')
    t.same(res.headers.map(([name]) => name), NOT_ALLOWED_HEADERS, 'nginx\'s error headers, then flv_live\'s')
    const headers = Object.fromEntries(res.headers)
    t.equal(headers.Server, SERVER_NAME)
    t.equal(headers['Content-Type'], 'text/html')
    t.equal(headers.Connection, 'keep-alive')
    t.equal(headers['Cache-Control'], 'no-cache')
    t.equal(headers['Access-Control-Allow-Origin'], '*')
    t.equal(res.body.toString('latin1'), errorPage('405 Not Allowed'), 'nginx\'s error page')
    t.equal(Number(headers['Content-Length']), res.body.length)

    // the connection takes the next request
    c.send(`${method} /live/x.flv HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
    t.equal((await c.response()).statusLine, 'HTTP/1.1 405 Not Allowed', 'a second request on the connection: 405 again')
  })
}

t.test('a request with a body: 405, then the connection is closed (its body is no request)', async (t) => {
  const c = await RawHttpClient.request(httpPort, '/live/x.flv', { method: 'POST', headers: ['Content-Length: 11'] })
  t.teardown(() => c.close())
  c.send('GET / HTTP/')
  const res = await c.response()
  t.equal(res.statusLine, 'HTTP/1.1 405 Not Allowed')
  t.equal(Object.fromEntries(res.headers).Connection, 'close')
  await c.waitClosed()
  t.equal(c.unread().length, 0, 'nothing answers the body')
})

t.test('HEAD of a stream nobody publishes: 404 with the CORS headers and no body, no play', async (t) => {
  const c = await RawHttpClient.request(httpPort, '/live/x.flv', { method: 'HEAD' })
  t.teardown(() => c.close())
  const res = await c.response({ head: true })
  t.equal(res.statusLine, 'HTTP/1.1 404 Not Found')
  t.equal(Object.fromEntries(res.headers)['Access-Control-Allow-Origin'], '*')
  t.equal(Object.fromEntries(res.headers).Connection, 'keep-alive')
  // the next request on the connection is answered first thing: no error page body came before it
  c.send('OPTIONS /live/x.flv HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  t.equal((await c.response()).statusLine, 'HTTP/1.1 405 Not Allowed', 'the next response follows the head at once')
})

t.test('none of them played: no on_play request, no origin connection, no play logged', async (t) => {
  t.equal(notify.requests.length, 0, 'no on_play request')
  t.equal(originSockets.length, 0, 'no pull')
  t.notMatch(edge.log(), /flv play:/, 'no play in the log')
})

t.test('GET on the same URL plays: on_play is asked (what the checks above would have seen)', async (t) => {
  const c = await RawHttpClient.request(httpPort, '/live/x.flv')
  t.teardown(() => c.close())
  const hit = await notify.request(0)
  t.match(hit.line, /^GET \/play\?call=play&/, 'on_play start')
})
