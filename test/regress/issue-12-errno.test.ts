// Issue 12: a failed system call reads as nginx prints it, `(<errno>: <strerror text>)`, on
// every path that reaches a user: `-s` (compared with Debian's nginx on the same config and
// pid file; test/conf/cli.test.ts has the exact line for a missing one), and the log lines of
// sockets (an origin that refuses the connection).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { constants, tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { errnoText } from '../../lib/core/errno.js'
import { runEdge, runProcess } from '../helpers/edge.js'
import { NGINX } from '../helpers/nginx-rtmp.js'
import { freePort, startLiveEdge } from '../helpers/node.js'
import { RawHttpClient } from '../helpers/raw-http.js'

/** A prefix with a config both nginx and edge load: only a pid file, under logs/. */
function signalPrefix(t: Test): { dir: string, conf: string, pidFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'edge-signal-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const pidFile = join(dir, 'logs', 'run.pid')
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, `pid ${pidFile};\nevents {}\n`)
  return { dir, conf, pidFile }
}

/** `edge -s reload` and `nginx -s reload` (its own log to a file: stderr holds its `nginx:` lines) on one prefix. */
async function reloadBoth(dir: string, conf: string): Promise<{ edge: string, nginx: string, codes: [number | null, number | null] }> {
  const edge = await runEdge(['-p', dir, '-c', conf, '-s', 'reload'])
  const nginx = await runProcess(NGINX, ['-e', join(dir, 'nginx-error.log'), '-p', `${dir}/`, '-c', conf, '-s', 'reload'])
  return { edge: edge.stderr, nginx: nginx.stderr.replaceAll(/^nginx: /gm, 'edge: '), codes: [edge.code, nginx.code] }
}

const nginxMissing = existsSync(NGINX) ? false : `not installed: ${NGINX}`
/** python3's os.strerror is the C library's strerror, which nginx prints */
const PYTHON3 = '/usr/bin/python3'

t.test('every errno Node reports reads as (number: the C library\'s strerror)', { skip: existsSync(PYTHON3) ? false : `not installed: ${PYTHON3}` }, async (t) => {
  const errnos = Object.entries(constants.errno)
  const r = await runProcess(PYTHON3, ['-c', 'import os, sys\nfor n in sys.argv[1:]: print(os.strerror(int(n)))', ...errnos.map(([, n]) => String(n))])
  const texts = r.stdout.split('\n')
  errnos.forEach(([code, n], i) => t.equal(errnoText({ code }), `(${n}: ${texts[i]})`, code))
})

t.test('-s reload prints what nginx prints for the same pid file', { skip: nginxMissing }, async (t) => {
  const { dir, conf, pidFile } = signalPrefix(t)
  const missing = await reloadBoth(dir, conf)
  t.equal(missing.edge, missing.nginx, 'no pid file')
  t.same(missing.codes, [1, 1])

  mkdirSync(pidFile, { recursive: true })
  const directory = await reloadBoth(dir, conf)
  t.equal(directory.edge, directory.nginx, 'a directory where the pid file should be')
  t.same(directory.codes, [1, 1])
  rmSync(pidFile, { recursive: true })

  writeFileSync(pidFile, ' 12x\n\n')
  const invalid = await reloadBoth(dir, conf)
  t.equal(invalid.edge, invalid.nginx, 'a pid file that holds no number')
  t.same(invalid.codes, [1, 1])

  // a process that has exited and been reaped: its pid names no process
  const gone = spawnSync('true')
  writeFileSync(pidFile, `${gone.pid}\n`)
  const noProcess = await reloadBoth(dir, conf)
  t.equal(noProcess.edge, noProcess.nginx, 'the pid of no process')
  t.same(noProcess.codes, [1, 1])
})

t.test('an origin that refuses the connection: connect() ... failed (111: Connection refused)', async (t) => {
  const originPort = await freePort() // nothing listens there
  const { edge, httpPort } = await startLiveEdge(t, { app: `pull rtmp://127.0.0.1:${originPort} app=live;`, flv: { '/flv': 'app=live' } })
  const player = await RawHttpClient.request(httpPort, '/flv/s1')
  t.teardown(() => player.close())
  await edge.waitForLog(`pull: closed: connect() to 127.0.0.1:${originPort} failed (111: Connection refused), app: live, name: s1\n`)
  t.notMatch(edge.log(), /ECONNREFUSED/, 'no Node error code in the log')
})
