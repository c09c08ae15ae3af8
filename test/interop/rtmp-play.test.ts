// RTMP play with real clients (issue 3, spec §7 and §13 scenario 5): ffmpeg publishes into a
// real edge process; ffprobe and rtmpdump play it back over 127.0.0.1. Publishers with a
// 128-byte and a 60,000-byte outgoing chunk size come from Debian's nginx-rtmp pushing to the
// edge with `chunk_size N` (ffmpeg 5.1's native RTMP has no option for its outgoing chunk size:
// `ffmpeg -h protocol=rtmp` lists none, and it always announces 4096).
import { spawn } from 'node:child_process'
import { EventEmitter, once } from 'node:events'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect as tcpConnect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ChunkReader } from '../../lib/rtmp/chunk-reader.js'
import { MSG_SET_CHUNK_SIZE } from '../../lib/rtmp/constants.js'
import { runProcess } from '../helpers/edge.js'
import { nginxRtmpMissing, startNginxRtmp } from '../helpers/nginx-rtmp.js'
import { freePort, publish, startEdge } from '../helpers/node.js'

const RTMPDUMP = '/usr/bin/rtmpdump'
/** bound on one ffprobe run (it waits for the stream to appear, then reads ~1 s) */
const PROBE_TIMEOUT_MS = 15_000
/** bound on any other wait for a tool */
const TOOL_WAIT_MS = 10_000
/** media time rtmpdump must have written before it is stopped */
const DUMP_MEDIA_MS = 2000
/** limits of the spy's chunk reader: far above anything the test media holds */
const SPY_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
const SPY_MAX_CHUNK_STREAMS = 65600
/** RTMP handshake bytes a client sends before its chunk stream: C0 + C1, then C2 */
const CLIENT_HANDSHAKE_BYTES = 1 + 1536 + 1536

const edgeConf = (rtmpPort: number): string => `events {}
rtmp {
    server {
        listen 127.0.0.1:${rtmpPort};
        application live {
            live on;
            cache_time 1s;
            send_all on;
        }
    }
}
`

interface ProbedStream {
  codec_name: string
  width?: number
  height?: number
  nb_read_frames?: string
}

/** ffprobe `input` with the given extra arguments; streams sorted by codec name. */
async function probe(t: Test, input: string, extra: readonly string[] = []): Promise<ProbedStream[]> {
  const r = await runProcess('ffprobe', ['-v', 'error', ...extra, '-show_entries', `stream=codec_name,width,height${extra.includes('-count_frames') ? ',nb_read_frames' : ''}`,
    '-of', 'json', input], { timeoutMs: PROBE_TIMEOUT_MS })
  t.equal(r.code, 0, `ffprobe ${input} exits 0 ${r.stderr}`)
  const streams = (JSON.parse(r.stdout || '{}') as { streams?: ProbedStream[] }).streams ?? []
  return streams.sort((a, b) => a.codec_name.localeCompare(b.codec_name))
}

/** `p`, or a rejection naming `what` after `ms` */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

const H264_AAC = [{ codec_name: 'aac' }, { codec_name: 'h264', width: 320, height: 240 }]

t.test('ffprobe decodes h264 320x240 and aac from rtmp://…/live/s1', async (t) => {
  const rtmpPort = await freePort()
  const edge = await startEdge(edgeConf(rtmpPort))
  t.teardown(() => edge.stop())
  const pub = publish(`rtmp://127.0.0.1:${rtmpPort}/live/s1`)
  t.teardown(() => pub.stop())

  // idle_streams is on: a player that comes before the publisher waits for it
  t.same(await probe(t, `rtmp://127.0.0.1:${rtmpPort}/live/s1`), H264_AAC, 'h264 320x240 and aac')
})

t.test('rtmpdump writes an FLV that ffprobe decodes as h264 + aac', { skip: existsSync(RTMPDUMP) ? false : `no ${RTMPDUMP}` }, async (t) => {
  const rtmpPort = await freePort()
  const edge = await startEdge(edgeConf(rtmpPort))
  t.teardown(() => edge.stop())
  const pub = publish(`rtmp://127.0.0.1:${rtmpPort}/live/s1`)
  t.teardown(() => pub.stop())
  const dir = mkdtempSync(join(tmpdir(), 'edge-rtmpdump-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 's1.flv')

  // `--stop` asks the server for a play duration, which a live server ignores (PingOS too), so
  // rtmpdump is stopped here instead: once its progress line ("<kB> kB / <sec> sec", the media
  // timestamp) has moved DUMP_MEDIA_MS, SIGINT, which it handles by closing the file.
  const dump = spawn(RTMPDUMP, ['--live', '-r', `rtmp://127.0.0.1:${rtmpPort}/live/s1`, '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = once(dump, 'exit')
  t.teardown(() => { if (dump.exitCode === null && dump.signalCode === null) dump.kill('SIGKILL') })
  let stderr = ''
  const progress = new EventEmitter()
  dump.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    const secs = [...stderr.matchAll(/([\d.]+) kB \/ ([\d.]+) sec/g)].map((m) => Number(m[2]))
    if (secs.length > 1 && (secs[secs.length - 1] - secs[0]) * 1000 >= DUMP_MEDIA_MS) progress.emit('enough')
  })
  await Promise.race([
    once(progress, 'enough', { signal: AbortSignal.timeout(TOOL_WAIT_MS) }),
    exited.then(() => { throw new Error(`rtmpdump exited early:\n${stderr}`) }),
  ])
  dump.kill('SIGINT')
  await within(exited, TOOL_WAIT_MS, 'rtmpdump exit after SIGINT')
  t.match(stderr, /Starting Live Stream/, 'rtmpdump started the live stream')
  t.notMatch(stderr, /NetStream\.Play\.StreamNotFound|NetStream\.Failed/, 'no play error')

  const streams = await probe(t, file, ['-count_frames'])
  t.same(streams.map((s) => ({ codec_name: s.codec_name, width: s.width, height: s.height })),
    [{ codec_name: 'aac', width: undefined, height: undefined }, { codec_name: 'h264', width: 320, height: 240 }],
    'the file holds h264 320x240 and aac')
  for (const s of streams) t.ok(Number(s.nb_read_frames) > 0, `ffprobe decoded ${s.nb_read_frames} ${s.codec_name} frames`)
})

/**
 * A TCP relay from a free port to `targetPort` that reads the client's chunk stream (after
 * its handshake) and records every Set Chunk Size it announces, to prove the publisher's
 * chunk size without trusting its configuration.
 */
async function chunkSizeSpy(t: Test, targetPort: number): Promise<{ port: number, sizes: number[] }> {
  const sizes: number[] = []
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = tcpConnect(targetPort, '127.0.0.1')
    sockets.add(client).add(upstream)
    let skip = CLIENT_HANDSHAKE_BYTES
    const reader = new ChunkReader({
      maxMessageBytes: SPY_MAX_MESSAGE_BYTES, maxStreams: SPY_MAX_CHUNK_STREAMS, extendedOnType3: true,
      onMessage: (m) => { if (m.typeId === MSG_SET_CHUNK_SIZE) sizes.push(m.payload.readUInt32BE(0)) },
    })
    client.on('data', (d: Buffer) => {
      upstream.write(d)
      const rest = d.subarray(Math.min(skip, d.length))
      skip -= d.length - rest.length
      if (rest.length > 0) reader.push(rest)
    })
    upstream.on('data', (d: Buffer) => client.write(d))
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.on('error', () => {})
    upstream.on('error', () => {})
  })
  const port = await freePort()
  server.listen(port, '127.0.0.1')
  await once(server, 'listening', { signal: AbortSignal.timeout(TOOL_WAIT_MS) })
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return { port, sizes }
}

for (const chunkBytes of [128, 60_000]) {
  t.test(`a publisher sending ${chunkBytes}-byte chunks is played back by ffprobe`, { skip: nginxRtmpMissing() }, async (t) => {
    const rtmpPort = await freePort()
    const edge = await startEdge(edgeConf(rtmpPort))
    t.teardown(() => edge.stop())
    const spy = await chunkSizeSpy(t, rtmpPort)
    // ngx_rtmp_relay_send_connect: a push leg first announces the server's chunk_size
    // Debian nginx-rtmp with `chunk_size <chunkBytes>`, pushing every stream of `live` to the spy
    const { port: nginxPort } = await startNginxRtmp(t,
      `chunk_size ${chunkBytes}; application live { live on; push rtmp://127.0.0.1:${spy.port}/live; }`)
    const name = `c${chunkBytes}`
    const pub = publish(`rtmp://127.0.0.1:${nginxPort}/live/${name}`)
    t.teardown(() => pub.stop())

    t.same(await probe(t, `rtmp://127.0.0.1:${rtmpPort}/live/${name}`), H264_AAC, 'h264 320x240 and aac')
    t.same(spy.sizes, [chunkBytes], `the publisher announced Set Chunk Size ${chunkBytes}`)
  })
}
