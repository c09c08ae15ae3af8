// allow / deny in http{} (ngx_http_access_module): checked before any location handler, the
// innermost level that has rules deciding; a refused request gets nginx's 403 page and one
// `access forbidden by rule` line. The shipped conf relies on it to keep /control local.
import t, { type Test } from 'tap'
import { errorPage } from '../helpers/expected.js'
import { freePort, startEdge, type EdgeProcess } from '../helpers/node.js'
import { header, RawHttpClient, type RawResponse } from '../helpers/raw-http.js'

let edge: EdgeProcess
let port = 0

t.before(async () => {
  port = await freePort()
  edge = await startEdge(`events {}
http {
  server {
    listen ${port};
    deny 127.0.0.1;
    location /control { rtmp_control all; allow 127.0.0.2; deny all; }
    location /stat { rtmp_stat all; allow 127.0.0.1; deny all; }
    location /sys { sys_stat; }
  }
}
`)
  t.teardown(() => edge.stop())
})

async function get(t: Test, target: string): Promise<RawResponse> {
  const c = await RawHttpClient.open(port)
  t.teardown(() => c.close())
  c.send(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
  return c.response()
}

t.test('a location whose rules deny the client answers 403 and runs no handler', async (t) => {
  const res = await get(t, '/control/drop/client?srv=default')
  t.equal(res.status, 403)
  t.equal(header(res, 'content-type'), 'text/html')
  t.equal(res.body.toString('latin1'), errorPage('403 Forbidden'))
  await edge.waitForLog(/\[error\] .*access forbidden by rule, client: 127\.0\.0\.1/, 5000)
})

t.test("an allowed client reaches the handler: the location's rules replace the server's", async (t) => {
  const res = await get(t, '/stat')
  t.equal(res.status, 200)
  t.equal(header(res, 'content-type'), 'text/xml')
})

t.test('dot segments and doubled slashes reach the location they name, rules included (ngx_http_parse_complex_uri)', async (t) => {
  for (const target of ['/x/../control/drop/client?srv=default', '/./control/drop/client?srv=default', '//control/drop/client?srv=default', '/stat/../control/drop/client?srv=default']) {
    const res = await get(t, target)
    t.equal(res.status, 403, `${target}: the /control location's rules`)
  }
  t.equal((await get(t, '/../stat')).status, 400, 'a path that climbs above / is refused')
})

t.test("a location without rules has the server's: deny 127.0.0.1", async (t) => {
  const res = await get(t, '/sys')
  t.equal(res.status, 403)
})
