// The command line as an operator's scripts see it: options, messages, exit codes, and the
// node starting on a config and stopping on SIGTERM.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { edgeBin, repoRoot, runEdge } from '../helpers/edge.js'
import { freePort } from '../helpers/node.js'

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version
const dir = mkdtempSync(join(tmpdir(), 'edge-cli-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const conf = join(dir, 'nginx.conf')
const rtmpPort = await freePort()
writeFileSync(conf, `events {}\nrtmp {\n    server {\n        listen ${rtmpPort};\n        application live { live on; hls off; }\n    }\n}\n`)

t.test('-v, -V and -h', async (t) => {
  const v = await runEdge(['-v'])
  t.equal(v.code, 0)
  t.equal(v.stderr, `edge version: edge/${version}\n`)
  const V = await runEdge(['-V'])
  t.match(V.stderr, new RegExp(`^edge version: edge/${version}\nbuilt with Node.js v\\d+`))
  const h = await runEdge(['-h'])
  t.equal(h.code, 0)
  t.match(h.stderr, /^Usage: edge \[-\?hvVtTq\] \[-s signal\] \[-p prefix\] \[-c filename\] \[-g directives\]\n/)
})

t.test('bad options', async (t) => {
  for (const [args, message] of [
    [['-x'], 'edge: invalid option: "x"\n'],
    [['foo'], 'edge: invalid option: "foo"\n'],
    [['-c'], 'edge: option "-c" requires file name\n'],
    [['-p'], 'edge: option "-p" requires directory name\n'],
    [['-s', 'bogus'], 'edge: invalid option: "-s bogus"\n'],
  ] as const) {
    const r = await runEdge(args)
    t.equal(r.code, 1, args.join(' '))
    t.equal(r.stderr, message)
  }
})

t.test('-t prints nginx\'s lines; -q keeps only errors and warnings; -tc grouped', async (t) => {
  const r = await runEdge(['-t', '-c', conf])
  t.equal(r.code, 0)
  t.equal(r.stderr,
    `edge: [warn] accepted but not implemented, ignored: "hls" (${conf}:5)\n` +
    `edge: the configuration file ${conf} syntax is ok\n` +
    `edge: configuration file ${conf} test is successful\n`)
  const q = await runEdge(['-tq', '-c', conf])
  t.equal(q.code, 0)
  t.notMatch(q.stderr, /syntax is ok|test is successful/)
  const g = await runEdge([`-tc${conf}`])
  t.equal(g.code, 0)
})

t.test('-p sets the prefix that a relative -c and the default conf resolve against', async (t) => {
  const r = await runEdge(['-t', '-p', dir, '-c', 'nginx.conf'])
  t.equal(r.code, 0)
  t.match(r.stderr, `edge: configuration file ${conf} test is successful\n`)
  const d = await runEdge(['-t', '-p', dir])
  t.equal(d.code, 1)
  t.equal(d.stderr, `edge: [emerg] open() "${join(dir, 'conf/nginx.conf')}" failed (2: No such file or directory)\n` +
    `edge: configuration file ${join(dir, 'conf/nginx.conf')} test failed\n`)
})

t.test('-T dumps every file read after the test lines', async (t) => {
  const inc = join(dir, 'extra.conf')
  writeFileSync(inc, 'worker_processes 2;\n')
  const main = join(dir, 'with-include.conf')
  writeFileSync(main, 'include extra.conf;\nevents {}\n')
  const r = await runEdge(['-T', '-c', main])
  t.equal(r.code, 0)
  t.match(r.stderr, 'test is successful')
  t.equal(r.stdout, `# configuration file ${main}:\ninclude extra.conf;\nevents {}\n\n# configuration file ${inc}:\nworker_processes 2;\n\n`)
})

t.test('-s without a running node reports the pid file', async (t) => {
  const r = await runEdge(['-s', 'stop', '-c', conf, '-p', dir])
  t.equal(r.code, 1)
  t.equal(r.stderr, `edge: [error] open() "${join(dir, 'logs/edge.pid')}" failed (2: No such file or directory)\n`)
})

t.test('edge -c with daemon off runs in the foreground, names unimplemented directives once, stops on SIGTERM', async (t) => {
  const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, edgeBin, '-c', conf, '-p', dir,
    '-g', 'error_log stderr notice; daemon off; worker_processes 2;'],
    { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stderr = ''
  child.stderr.setEncoding('utf8')
  const started = new Promise<void>((resolve) => {
    child.stderr.on('data', (d: string) => {
      stderr += d
      if (stderr.includes('started')) resolve()
    })
  })
  await Promise.race([started, once(child, 'exit').then(() => { throw new Error(`exited early: ${stderr}`) })])
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit', { signal: AbortSignal.timeout(5000) }) as [number | null]
  t.equal(code, 0)
  const lines = stderr.trimEnd().split('\n')
  t.match(lines[0], /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[warn\] \d+#0: accepted but not implemented, ignored: "worker_processes" \(command line\), "hls" \(/)
  t.match(lines[1], new RegExp(`\\[notice\\] \\d+#0: rtmp listening on 0\\.0\\.0\\.0:${rtmpPort}$`))
  t.match(lines[2], /\[notice\] \d+#0: edge\/\S+ started with /)
  t.match(lines[3], /\[notice\] \d+#0: signal SIGTERM received, exiting/)
  t.equal(lines.length, 4)
})

t.test('a bad config stops the node with the nginx message', async (t) => {
  const bad = join(dir, 'bad.conf')
  writeFileSync(bad, 'events {}\nrtmp { server { application x { live maybe; } } }\n')
  const r = await runEdge(['-c', bad])
  t.equal(r.code, 1)
  t.equal(r.stderr, `edge: [emerg] invalid value "maybe" in "live" directive, it must be "on" or "off" in ${bad}:2\n`)
})

t.test('daemon on: edge returns once the node listens; -s stop ends it by its pid file', async (t) => {
  const port = await freePort()
  const dconf = join(dir, 'daemon.conf')
  writeFileSync(dconf, `daemon on;\nerror_log ${join(dir, 'daemon.log')} info;\nevents {}\nrtmp { server { listen ${port}; application live { live on; } } }\n`)
  const r = await runEdge(['-c', dconf, '-p', dir])
  t.equal(r.code, 0, r.stderr)
  const pid = Number(readFileSync(join(dir, 'logs/edge.pid'), 'utf8'))
  t.ok(pid > 0 && pid !== process.pid)
  t.doesNotThrow(() => process.kill(pid, 0), 'the node runs in the background')
  const stop = await runEdge(['-s', 'stop', '-c', dconf, '-p', dir])
  t.equal(stop.code, 0)
  await waitGone(pid)
  t.match(readFileSync(join(dir, 'daemon.log'), 'utf8'), 'signal SIGTERM received')
})

/** Wait (bounded) until no process has `pid`: polling kill(pid, 0) is the only portable probe. */
async function waitGone(pid: number): Promise<void> {
  const deadline = Date.now() + 5000
  for (;;) {
    try {
      process.kill(pid, 0)
    } catch {
      return
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} still running`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
