// `npm run fuzz:seeds`: records the seed corpus of `npm run fuzz` from real tools, once. The
// result is committed under test/fixtures/fuzz/seeds/ (kept small); run this again only to
// refresh it.
//
//   ffmpeg / rtmpdump / curl ──► recording proxy (127.0.0.1) ──► edge (bin/edge.js)
//   ffmpeg ─► nginx-rtmp ─push─►       │ client→server and server→client bytes per connection
//   rtmpdump ─► recording proxy ─► nginx-rtmp (chunk_size 128: many continuation headers)
//                                      ▼
//                      seeds/rtmp/*.c2s.bin, *.s2c.bin, seeds/http/*.bin, seeds/flv/*.flv
//
// AMF0 seeds are the command and data message bodies found in those captures (and the
// onMetaData tags of the FLV seeds); AMF3 has no tool that writes it, so its seeds are built
// here from the spec's encodings. Conf seeds are not copied: the fuzzer reads conf/ and
// test/fixtures/conf/ where they are.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ProtocolError } from '../../lib/core/errors.js'
import { ChunkReader } from '../../lib/rtmp/chunk-reader.js'
import { MSG_COMMAND_AMF0, MSG_DATA_AMF0 } from '../../lib/rtmp/constants.js'
import { FlvReader } from '../../lib/flv/reader.js'
import { HANDSHAKE_CHALLENGE_BYTES, HANDSHAKE_PACKET_BYTES } from '../../lib/rtmp/handshake.js'
import { freePort } from '../../test/helpers/node.js'
import { repoRoot, seedsDir } from './corpus.js'

/** a capture is cut here: the head of a stream (handshake, commands, metadata, headers, a GOP start) */
const MAX_CAPTURE_BYTES = 16 * 1024
/** a tool that has not finished in this time is killed (by PID) */
const TOOL_TIMEOUT_MS = 30_000
const MEDIA = join(repoRoot, 'test', 'fixtures', 'media', 'testsrc-10s.flv')
/** Debian's nginx and its RTMP module (libnginx-mod-rtmp), when installed */
const NGINX = '/usr/sbin/nginx'
const NGINX_RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so'

interface Capture {
  c2s: Buffer[]
  s2c: Buffer[]
}

/** A TCP proxy that keeps every byte of every connection, in both directions. */
class RecordingProxy {
  readonly captures: Capture[] = []
  private readonly server: Server
  private readonly sockets = new Set<Socket>()

  constructor(private readonly targetPort: number) {
    this.server = createServer((client) => {
      const cap: Capture = { c2s: [], s2c: [] }
      this.captures.push(cap)
      const upstream = connect(this.targetPort, '127.0.0.1')
      this.sockets.add(client).add(upstream)
      client.on('data', (d: Buffer) => { cap.c2s.push(d); upstream.write(d) })
      upstream.on('data', (d: Buffer) => { cap.s2c.push(d); client.write(d) })
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
      client.on('error', () => upstream.destroy())
      upstream.on('error', () => client.destroy())
    })
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1')
    await once(this.server, 'listening')
    return (this.server.address() as { port: number }).port
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    this.server.close()
    await once(this.server, 'close')
  }

  /** the captures made while `fn` ran */
  async record(fn: () => Promise<void>): Promise<Capture[]> {
    const first = this.captures.length
    await fn()
    return this.captures.slice(first)
  }
}

/** Run a tool to its end (or kill it after `timeoutMs`); its exit status does not matter here. */
async function tool(cmd: string, args: string[], timeoutMs = TOOL_TIMEOUT_MS): Promise<void> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err = (err + d).slice(-2000) })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code] = await once(child, 'exit') as [number | null]
  clearTimeout(timer)
  console.log(`  ${cmd} ${args.join(' ')} → exit ${code}`)
  if (code !== 0 && code !== 255 && process.env.FUZZ_SEEDS_VERBOSE !== undefined) console.log(err)
}

function start(cmd: string, args: string[]): { stop(): Promise<void> } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'] })
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}

function head(parts: Buffer[], max = MAX_CAPTURE_BYTES): Buffer {
  const all = Buffer.concat(parts)
  return all.subarray(0, Math.min(max, all.length))
}

/** Message bodies of one type from a client capture (handshake skipped). */
function bodies(stream: Buffer, types: number[], skipHandshake: number): Buffer[] {
  const out: Buffer[] = []
  const reader = new ChunkReader({
    maxMessageBytes: 16 * 1024 * 1024,
    maxStreams: 1 << 16,
    extendedOnType3: true,
    onMessage: (m) => { if (types.includes(m.typeId)) out.push(Buffer.from(m.payload)) },
  })
  try {
    reader.push(stream.subarray(skipHandshake))
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err
    console.log(`  (capture ends in ${err.message})`)
  }
  return out
}

async function main(): Promise<void> {
  const rtmpPort = await freePort()
  const httpPort = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'edge-seeds-'))
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, `daemon off;
error_log stderr warn;
pid ${join(dir, 'edge.pid')};
events {}
rtmp {
    server {
        listen 127.0.0.1:${rtmpPort};
        application live { live on; cache_time 1s; }
    }
}
http {
    server {
        listen 127.0.0.1:${httpPort};
        chunked_transfer_encoding off;
        location /live { flv_live 127.0.0.1:${rtmpPort}; }
    }
}
`)
  const edge = start(process.execPath, [join(repoRoot, 'bin', 'edge.js'), '-c', conf])
  await new Promise((r) => setTimeout(r, 1000)) // edge is local and starts in well under a second
  const rtmpProxy = new RecordingProxy(rtmpPort)
  const httpProxy = new RecordingProxy(httpPort)
  const rp = await rtmpProxy.listen()
  const hp = await httpProxy.listen()
  const out = (sub: string): string => {
    const d = join(seedsDir, sub)
    mkdirSync(d, { recursive: true })
    return d
  }
  const rtmpDir = out('rtmp')
  const amf0Dir = out('amf0')

  try {
    console.log('ffmpeg publishing testsrc-10s.flv (-c copy)')
    const [pub] = await rtmpProxy.record(() => tool('ffmpeg', ['-v', 'error', '-i', MEDIA, '-t', '1', '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${rp}/live/s1`]))
    const pubBytes = Buffer.concat(pub.c2s)
    writeFileSync(join(rtmpDir, 'ffmpeg-publish-copy.c2s.bin'), head(pub.c2s))

    console.log('ffmpeg publishing a 64x48 re-encode (small frames, keyframe every 5)')
    const [tiny] = await rtmpProxy.record(() => tool('ffmpeg', ['-v', 'error', '-i', MEDIA, '-t', '1', '-vf', 'scale=64:48', '-c:v', 'libx264',
      '-g', '5', '-preset', 'ultrafast', '-c:a', 'aac', '-b:a', '16k', '-ar', '8000', '-f', 'flv', `rtmp://127.0.0.1:${rp}/live/s2`]))
    writeFileSync(join(rtmpDir, 'ffmpeg-publish-tiny.c2s.bin'), head(tiny.c2s))

    // a publisher that stays while the players below connect
    const live = start('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '-1', '-i', MEDIA, '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/s1`])
    await new Promise((r) => setTimeout(r, 1500))
    try {
      console.log('rtmpdump playing')
      const [dump] = await rtmpProxy.record(() => tool('rtmpdump', ['-q', '-v', '-r', `rtmp://127.0.0.1:${rp}/live/s1`, '-o', '/dev/null', '-B', '1'], 5000))
      writeFileSync(join(rtmpDir, 'rtmpdump-play.c2s.bin'), head(dump.c2s))
      writeFileSync(join(rtmpDir, 'rtmpdump-play.s2c.bin'), head(dump.s2c))

      console.log('ffmpeg playing')
      const [ffplay] = await rtmpProxy.record(() => tool('ffmpeg', ['-v', 'error', '-i', `rtmp://127.0.0.1:${rp}/live/s1`, '-t', '0.5', '-f', 'null', '-'], 10_000))
      writeFileSync(join(rtmpDir, 'ffmpeg-play.c2s.bin'), head(ffplay.c2s))

      console.log('HTTP-FLV: curl, wget and ffmpeg requests; the FLV edge sends')
      const httpDir = out('http')
      const [curl] = await httpProxy.record(() => tool('curl', ['-s', '-m', '1', '-o', '/dev/null', '-H', 'X-Forwarded-For: 10.0.0.1', `http://127.0.0.1:${hp}/live/s1?token=a%20b&x=1`], 5000))
      writeFileSync(join(httpDir, 'curl.bin'), head(curl.c2s, 4096))
      const flvDir = out('flv')
      writeFileSync(join(flvDir, 'edge-http-flv.flv'), httpBody(head(curl.s2c, 64 * 1024), 16 * 1024))
      const [wget] = await httpProxy.record(() => tool('wget', ['-q', '-T', '1', '-t', '1', '-O', '/dev/null', `http://127.0.0.1:${hp}/live/s1.flv`], 5000))
      writeFileSync(join(httpDir, 'wget.bin'), head(wget.c2s, 4096))
      const [ffhttp] = await httpProxy.record(() => tool('ffmpeg', ['-v', 'error', '-i', `http://127.0.0.1:${hp}/live/s1.flv?app=live`, '-t', '0.3', '-f', 'null', '-'], 10_000))
      writeFileSync(join(httpDir, 'ffmpeg.bin'), head(ffhttp.c2s, 4096))
    } finally {
      await live.stop()
    }

    if (existsSync(NGINX) && existsSync(NGINX_RTMP_MODULE)) {
      console.log('Debian nginx-rtmp (chunk_size 128): its push to edge, and what it sends rtmpdump')
      const nginxPort = await freePort()
      const nginxDir = join(dir, 'nginx')
      mkdirSync(nginxDir)
      writeFileSync(join(nginxDir, 'nginx.conf'), [
        `pid ${join(nginxDir, 'nginx.pid')};`,
        `load_module ${NGINX_RTMP_MODULE};`,
        `error_log ${join(nginxDir, 'error.log')} warn;`,
        'events { worker_connections 64; }',
        `rtmp { server { listen 127.0.0.1:${nginxPort}; chunk_size 128;`,
        `  application live { live on; push rtmp://127.0.0.1:${rp}/live; } } }`,
        '',
      ].join('\n'))
      const nginx = start(NGINX, ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'), '-g', 'daemon off; master_process off;'])
      await new Promise((r) => setTimeout(r, 1000))
      const nginxProxy = new RecordingProxy(nginxPort)
      const np = await nginxProxy.listen()
      try {
        const feed = start('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '-1', '-i', MEDIA, '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${nginxPort}/live/n1`])
        try {
          const pushes = await rtmpProxy.record(() => new Promise((r) => setTimeout(r, 2500)))
          const push = pushes.find((c) => c.c2s.length > 0)
          if (push !== undefined) writeFileSync(join(rtmpDir, 'nginx-rtmp-push.c2s.bin'), head(push.c2s))
          const [dump] = await nginxProxy.record(() => tool('rtmpdump', ['-q', '-v', '-r', `rtmp://127.0.0.1:${np}/live/n1`, '-o', '/dev/null', '-B', '1'], 4000))
          writeFileSync(join(rtmpDir, 'nginx-rtmp-play.s2c.bin'), head(dump.s2c))
        } finally {
          await feed.stop()
        }
      } finally {
        await nginxProxy.close()
        await nginx.stop()
      }
    }

    console.log('AMF0 bodies from the publish captures')
    let n = 0
    for (const body of bodies(pubBytes, [MSG_COMMAND_AMF0, MSG_DATA_AMF0], HANDSHAKE_CHALLENGE_BYTES + HANDSHAKE_PACKET_BYTES)) {
      if (body.length > 4096) continue
      writeFileSync(join(amf0Dir, `ffmpeg-publish-${String(n++).padStart(2, '0')}.bin`), body)
    }
    const s2c = readFileSync(join(rtmpDir, 'rtmpdump-play.s2c.bin'))
    for (const body of bodies(s2c, [MSG_COMMAND_AMF0, MSG_DATA_AMF0], HANDSHAKE_CHALLENGE_BYTES + HANDSHAKE_PACKET_BYTES)) {
      if (body.length > 4096) continue
      writeFileSync(join(amf0Dir, `edge-play-${String(n++).padStart(2, '0')}.bin`), body)
    }

    console.log('small FLV files made by ffmpeg')
    const flvDir = out('flv')
    writeFileSync(join(flvDir, 'testsrc-head.flv'), readFileSync(MEDIA).subarray(0, 16 * 1024))
    const made: [string, string[]][] = [
      ['video-only-tiny.flv', ['-f', 'lavfi', '-i', 'testsrc2=size=32x24:rate=10', '-t', '1', '-c:v', 'libx264', '-g', '4', '-preset', 'ultrafast']],
      ['audio-aac.flv', ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000', '-t', '0.5', '-c:a', 'aac', '-b:a', '8k']],
      ['audio-mp3.flv', ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=11025', '-t', '0.5', '-c:a', 'libmp3lame', '-b:a', '8k']],
      ['flv1-speex.flv', ['-f', 'lavfi', '-i', 'testsrc2=size=32x24:rate=5', '-f', 'lavfi', '-i', 'sine=sample_rate=16000', '-t', '0.6',
        '-c:v', 'flv1', '-c:a', 'libspeex']],
    ]
    for (const [name, args] of made) {
      const file = join(dir, name)
      await tool('ffmpeg', ['-v', 'error', '-y', ...args, '-f', 'flv', file])
      if (existsSync(file)) writeFileSync(join(flvDir, name), readFileSync(file).subarray(0, 16 * 1024))
      else console.log(`  ${name} not made (codec missing?)`)
    }
    for (const name of readdirSync(flvDir)) {
      const r = new FlvReader()
      try {
        r.push(readFileSync(join(flvDir, name)))
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err
        console.log(`  ${name}: ${err.message}`)
      }
      for (const tag of r.drain()) {
        if (tag.typeId === MSG_DATA_AMF0 && tag.payload.length <= 4096) writeFileSync(join(amf0Dir, `flv-${name.replace(/\.flv$/, '')}.bin`), tag.payload)
      }
    }
    writeAmf3Seeds(out('amf3'), amf0Dir)
  } finally {
    await rtmpProxy.close()
    await httpProxy.close()
    await edge.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The body of an HTTP response without chunked encoding, cut at `max` bytes. */
function httpBody(response: Buffer, max: number): Buffer {
  const end = response.indexOf('\r\n\r\n')
  const body = end === -1 ? Buffer.alloc(0) : response.subarray(end + 4)
  return body.subarray(0, Math.min(max, body.length))
}

/**
 * AMF3 seeds from the encodings of "Action Message Format -- AMF 3" §3: each marker once, the
 * three reference tables used, and a Flash-style onMetaData that switches from AMF0 (0x11).
 */
function writeAmf3Seeds(dir: string, amf0Dir: string): void {
  const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
  const seeds: Record<string, string> = {
    // undefined null false true
    'scalars': '00',
    'integer-max': '04 bf ff ff ff',
    'integer-neg': '04 ff ff ff ff',
    'double': '05 40 09 21 fb 54 44 2d 18',
    // "app" then a reference to it inside a dynamic anonymous object {a: "app", b: ref}
    'object-dynamic': '0a 0b 01 03 61 06 07 61 70 70 03 62 06 00 01',
    // sealed traits (class "C", members x, y), second object by traits reference
    'object-sealed-traits-ref': '09 05 01 0a 23 03 43 03 78 03 79 04 01 04 02 0a 01 04 03 04 04',
    // dense array [1, 2, "s"] and an associative array {k: true}
    'array-dense': '09 07 01 04 01 04 02 06 03 73',
    'array-assoc': '09 01 03 6b 03 01',
    // array holding the same object twice (object reference)
    'array-object-ref': '09 05 01 0a 0b 01 03 61 04 05 01 0a 02',
    'date': '08 01 42 78 a0 7e 7b 00 00 00',
    'xml': '0b 09 3c 61 2f 3e',
    'xmldoc': '07 09 3c 62 2f 3e',
    'bytearray': '0c 07 01 02 03',
    'vector-int': '0d 05 00 00 00 00 01 ff ff ff ff',
    'vector-uint': '0e 05 01 00 00 00 01 ff ff ff ff',
    'vector-double': '0f 03 00 3f f0 00 00 00 00 00 00',
    'vector-object': '10 05 00 01 06 03 61 01',
  }
  for (const [name, hexText] of Object.entries(seeds)) writeFileSync(join(dir, `${name}.bin`), h(hexText))
  // AMF0 "onMetaData", then the avmplus-object-marker and an AMF3 dynamic object {width: 320}
  writeFileSync(join(amf0Dir, 'onmetadata-avmplus.bin'), h('02 000a 6f6e4d65746144617461 11 0a 0b 01 0b 7769647468 04 8240 01'))
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
