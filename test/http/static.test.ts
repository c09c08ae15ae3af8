// Static files as nginx's static module serves them (issue 3, item 4: PingOS's sample confs
// serve their web player page this way): root + index, add_header, types / default_type,
// nginx's error pages, the directory redirect, no way out of root, HEAD, keep-alive, 405. Requests
// are written byte for byte on raw sockets: an HTTP client library would clean up the paths
// this file needs to send.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { SERVER_NAME, errorPage } from '../helpers/expected.js'
import { freePort, startEdge, type EdgeProcess } from '../helpers/node.js'
import { header, RawHttpClient, type RawResponse } from '../helpers/raw-http.js'

/** the Server header and error-page footer: edge/<package version> */
const INDEX_HTML = '<!doctype html>\n<title>player</title>\n<video id="v"></video>\n'
const SUB_INDEX_HTML = '<p>sub</p>\n'
const FLV_BYTES = Buffer.from('FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00', 'latin1')
/** a file beside the root whose directory name starts with the root's name */
const SECRET = 'not for the web\n'


// Set up in t.before, not at top level: tap ends a root test that awaits between assertions.
let edge: EdgeProcess
let port = 0

t.before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-static-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const www = join(dir, 'www')
  mkdirSync(join(www, 'sub'), { recursive: true })
  writeFileSync(join(www, 'index.html'), INDEX_HTML)
  writeFileSync(join(www, 'sub', 'index.html'), SUB_INDEX_HTML)
  writeFileSync(join(www, 'clip.flv'), FLV_BYTES)
  writeFileSync(join(www, 'data.bin'), Buffer.from([0, 1, 2, 3]))
  mkdirSync(join(dir, 'www-secret'))
  writeFileSync(join(dir, 'www-secret', 'secret.txt'), SECRET)
  port = await freePort()
  edge = await startEdge(`events {}
http {
  types { text/html html; video/x-flv flv; }
  default_type application/octet-stream;
  server {
    listen ${port};
    location / { root ${www}; index index.html; add_header X-Test 1; }
  }
}
`)
  t.teardown(() => edge.stop())
})

/** One request with "Connection: close" on a fresh connection; its response. */
async function request(t: Test, target: string, opts: { method?: string } = {}): Promise<RawResponse> {
  const c = await RawHttpClient.open(port)
  t.teardown(() => c.close())
  const method = opts.method ?? 'GET'
  c.send(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)
  return c.response({ head: method === 'HEAD' })
}

t.test('GET / serves index.html with its type, length and add_header', async (t) => {
  const res = await request(t, '/')
  t.equal(res.statusLine, 'HTTP/1.1 200 OK')
  t.equal(header(res, 'Server'), SERVER_NAME)
  t.equal(header(res, 'Content-Type'), 'text/html')
  t.equal(header(res, 'Content-Length'), String(Buffer.byteLength(INDEX_HTML)))
  t.equal(header(res, 'X-Test'), '1', 'add_header applies to 200')
  t.equal(res.body.toString('utf8'), INDEX_HTML)
})

t.test('types and default_type choose Content-Type by extension', async (t) => {
  const flv = await request(t, '/clip.flv')
  t.equal(flv.status, 200)
  t.equal(header(flv, 'Content-Type'), 'video/x-flv', 'flv from types {}')
  t.same(flv.body, FLV_BYTES)
  const bin = await request(t, '/data.bin')
  t.equal(bin.status, 200)
  t.equal(header(bin, 'Content-Type'), 'application/octet-stream', 'an unknown extension gets default_type')
  t.same(bin.body, Buffer.from([0, 1, 2, 3]))
})

t.test('GET /missing is 404 with nginx\'s error page', async (t) => {
  const res = await request(t, '/missing')
  t.equal(res.statusLine, 'HTTP/1.1 404 Not Found')
  t.equal(header(res, 'Content-Type'), 'text/html')
  t.equal(res.body.toString('latin1'), errorPage('404 Not Found'))
  t.equal(header(res, 'Content-Length'), String(res.body.length))
  t.equal(header(res, 'X-Test'), undefined, 'add_header without "always" does not apply to 404')
})

t.test('a directory without its slash is redirected with 301', async (t) => {
  const res = await request(t, '/sub')
  t.equal(res.statusLine, 'HTTP/1.1 301 Moved Permanently')
  const location = header(res, 'Location')
  t.ok(location !== undefined, 'a Location header')
  // nginx (absolute_redirect on) writes http://<Host>/sub/; a relative /sub/ resolves the same
  t.equal(new URL(location ?? '', `http://127.0.0.1:${port}/sub`).href, `http://127.0.0.1:${port}/sub/`, 'Location is the directory with its slash')
  t.equal(res.body.toString('latin1'), errorPage('301 Moved Permanently'))
  t.equal(header(res, 'X-Test'), '1', 'add_header applies to 301 (ngx_http_headers_filter)')
  const followed = await request(t, '/sub/')
  t.equal(followed.status, 200, 'the redirect target serves the directory index')
  t.equal(followed.body.toString('utf8'), SUB_INDEX_HTML)
})

t.test('paths that climb out of root are not served', async (t) => {
  // nginx answers 400 for a URI that climbs above "/" (ngx_http_parse_complex_uri); 404 would
  // also keep the file private
  for (const target of ['/../etc/passwd', '/%2e%2e/etc/passwd', '/sub/../../etc/passwd']) {
    const res = await request(t, target)
    t.ok(res.status === 400 || res.status === 404, `${target}: ${res.statusLine}`)
    t.notMatch(res.body.toString('latin1'), /root:/, `${target}: no /etc/passwd content`)
  }
  // the root is <dir>/www; <dir>/www-secret starts with the same characters but is outside it
  for (const target of ['/../www-secret/secret.txt', '/%2e%2e/www-secret/secret.txt']) {
    const res = await request(t, target)
    t.ok(res.status === 400 || res.status === 404, `${target}: ${res.statusLine}`)
    t.notMatch(res.body.toString('latin1'), SECRET.trim(), `${target}: the file beside the root is not served`)
  }
})

t.test('HEAD answers the headers of GET without a body', async (t) => {
  const c = await RawHttpClient.open(port)
  t.teardown(() => c.close())
  c.send(`HEAD / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)
  const res = await c.response({ head: true })
  t.equal(res.statusLine, 'HTTP/1.1 200 OK')
  t.equal(header(res, 'Content-Type'), 'text/html')
  t.equal(header(res, 'Content-Length'), String(Buffer.byteLength(INDEX_HTML)), 'the length GET would send')
  t.equal(header(res, 'X-Test'), '1')
  await c.waitClosed()
  t.equal(c.unread().length, 0, 'no body bytes after the head')
})

t.test('keep-alive: two requests on one connection are both answered', async (t) => {
  const c = await RawHttpClient.open(port)
  t.teardown(() => c.close())
  c.send(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  const first = await c.response()
  t.equal(first.status, 200)
  t.equal(header(first, 'Connection'), 'keep-alive')
  t.equal(first.body.toString('utf8'), INDEX_HTML)
  t.notOk(c.closed, 'the connection stays open after the first response')
  c.send(`GET /missing HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  const second = await c.response()
  t.equal(second.status, 404, 'the second request is answered too')
  t.equal(second.body.toString('latin1'), errorPage('404 Not Found'))
  c.send(`GET /sub/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)
  const third = await c.response()
  t.equal(third.status, 200, 'and a third, which asks to close')
  t.equal(third.body.toString('utf8'), SUB_INDEX_HTML)
  await c.waitClosed()
  t.pass('the server closes after "Connection: close"')
})

t.test('pipelined: two requests in one write are answered in order', async (t) => {
  const c = await RawHttpClient.open(port)
  t.teardown(() => c.close())
  c.send(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\nGET /missing HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  const first = await c.response()
  t.equal(first.status, 200)
  const second = await c.response()
  t.equal(second.status, 404, 'the request that came with the first is answered after it')
})

t.test('another method is 405 (nginx\'s page, connection kept); one with a body closes after it', async (t) => {
  const c = await RawHttpClient.open(port)
  t.teardown(() => c.close())
  c.send(`DELETE /index.html HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  const first = await c.response()
  t.equal(first.statusLine, 'HTTP/1.1 405 Not Allowed')
  t.equal(header(first, 'Connection'), 'keep-alive')
  t.equal(first.body.toString('latin1'), errorPage('405 Not Allowed'))
  // edge reads no request bodies: the body must not be read as a next request (a 400)
  c.send(`POST /index.html HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 16\r\n\r\nGET / HTTP/1.1\r\n`)
  const second = await c.response()
  t.equal(second.statusLine, 'HTTP/1.1 405 Not Allowed')
  t.equal(header(second, 'Connection'), 'close')
  await c.waitClosed()
  t.equal(c.unread().length, 0, 'nothing answers the body')
})
