// Interop over 127.0.0.1 with real peers, each test skipped when its tool is absent:
//   ffmpeg (digest client)     → ServerHandshake  (complex path)
//   rtmpdump/librtmp (plain)   → ServerHandshake  (simple path)
//   ClientHandshake            → Debian nginx-rtmp (the reference server)
// The socket driver here is a few lines of test code; the real one is rtmp/server-session.ts.
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter, on, once } from 'node:events'
import { existsSync } from 'node:fs'
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { nginxRtmpMissing, startNginxRtmp } from '../helpers/nginx-rtmp.js'
import {
  ClientHandshake,
  ClientHandshakeState,
  SERVER_VERSION,
  ServerHandshake,
  ServerHandshakeState,
  findDigest,
  verifyResponse,
  FMS_KEY,
  FP_KEY,
} from '../../lib/rtmp/handshake.js'

const FFMPEG = '/usr/bin/ffmpeg'
const RTMPDUMP = '/usr/bin/rtmpdump'
/** bound on every wait for an external tool */
const TOOL_WAIT_MS = 10_000
/** AMF0 string "connect": marker 2, length 7, bytes */
const AMF0_CONNECT = Buffer.concat([Buffer.from([0x02, 0x00, 0x07]), Buffer.from('connect', 'latin1')])

function missing(...paths: string[]): string | false {
  const absent = paths.filter((p) => !existsSync(p))
  return absent.length === 0 ? false : `not installed: ${absent.join(', ')}`
}

/** Kills a child by its PID if it is still running. */
function killChild(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL')
}

interface Tool {
  stderr(): string
  /** resolves once stderr matches `re` (bounded by TOOL_WAIT_MS) */
  waitFor(re: RegExp): Promise<void>
}

/** Spawns a tool with stderr captured; its exit before teardown is an 'error' on `events`. */
function spawnTool(t: Test, events: EventEmitter, command: string, args: string[]): Tool {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    events.emit('stderr', stderr)
  })
  // fails the wait in progress; with none in progress the test's own asserts will tell
  const report = (err: Error): void => {
    if (events.listenerCount('error') > 0) events.emit('error', err)
    else t.comment(err.message)
  }
  const onExit = (code: number | null, signal: string | null): void => {
    report(new Error(`${command} exited (${code ?? signal}) early:\n${stderr}`))
  }
  child.on('exit', onExit)
  child.on('error', report)
  t.teardown(() => {
    child.off('exit', onExit)
    killChild(child)
  })
  return {
    stderr: () => stderr,
    async waitFor(re: RegExp): Promise<void> {
      if (re.test(stderr)) return
      for await (const [text] of on(events, 'stderr', { signal: AbortSignal.timeout(TOOL_WAIT_MS) }) as AsyncIterable<[string]>) {
        if (re.test(text)) return
      }
    },
  }
}

/**
 * A listener driving one ServerHandshake per connection. Emits 'connect' (hs, chunk-stream
 * bytes) on `events` once the bytes after C2 hold an AMF0 "connect".
 */
async function handshakeServer(t: Test, events: EventEmitter): Promise<number> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    const hs = new ServerHandshake()
    const stream: Buffer[] = []
    let handshaking = true
    socket.on('data', (chunk: Buffer) => {
      let rest = chunk
      if (handshaking) {
        try {
          hs.push(chunk)
        } catch (err) {
          events.emit('error', err)
          socket.destroy()
          return
        }
        socket.cork()
        for (const b of hs.takeOutput()) socket.write(b)
        socket.uncork()
        handshaking = hs.state !== ServerHandshakeState.DONE
        if (handshaking) return
        rest = hs.leftover()
      }
      stream.push(rest)
      const bytes = Buffer.concat(stream)
      if (bytes.includes(AMF0_CONNECT)) events.emit('connect', hs, bytes)
    })
    // the tool is killed at teardown, which may reset this socket: expected, so only noted
    socket.on('error', (err) => t.comment(`server socket: ${err.message}`))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening', { signal: AbortSignal.timeout(TOOL_WAIT_MS) })
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return (server.address() as AddressInfo).port
}

/** What both clients must send first after C2: a connect command on chunk stream 3. */
function checkConnectChunk(t: Test, bytes: Buffer): void {
  t.equal(bytes[0], 0x03, 'first chunk: basic header fmt 0, csid 3')
  t.equal(bytes[7], 0x14, 'message type 20: AMF0 command')
  t.equal(bytes.readUInt32LE(8), 0, 'message stream 0')
  t.equal(bytes.indexOf(AMF0_CONNECT), 12, 'the body starts with the AMF0 string "connect"')
}

t.test('ffmpeg (digest client) completes the handshake with ServerHandshake', { skip: missing(FFMPEG) }, async (t) => {
  const events = new EventEmitter()
  const port = await handshakeServer(t, events)
  const ffmpeg = spawnTool(t, events, FFMPEG,
    ['-nostdin', '-loglevel', 'debug', '-i', `rtmp://127.0.0.1:${port}/live/x`, '-t', '1', '-f', 'null', '-'])

  const [hs, bytes] = await once(events, 'connect', { signal: AbortSignal.timeout(TOOL_WAIT_MS) }) as [ServerHandshake, Buffer]
  t.equal(hs.state, ServerHandshakeState.DONE, 'server reached DONE')
  t.equal(hs.kind, 'complex', 'ffmpeg sends a digest C1')
  t.equal(hs.scheme, 8, 'ffmpeg signs C1 with scheme 8')
  t.equal(hs.peerVersion.toString(16), '9007c02', 'ffmpeg C1 version 9.0.124.2')
  checkConnectChunk(t, bytes)
  // ffmpeg checks the S1 digest ("Server response validating failed") and the S2 signature
  // ("Signature mismatch") before it sends connect; that it sent connect means both passed.
  await ffmpeg.waitFor(/Proto = rtmp/) // its first line after the handshake
  const stderr = ffmpeg.stderr()
  t.notMatch(stderr, /Server response validating failed|Signature mismatch|Cannot read RTMP handshake/, 'no handshake error')
  t.match(stderr, /Server version 13\.14\.10\.13/, 'ffmpeg read S1 version 0x0D0E0A0D')
})

t.test('rtmpdump (librtmp, plain client) completes the handshake with ServerHandshake', { skip: missing(RTMPDUMP) }, async (t) => {
  const events = new EventEmitter()
  const port = await handshakeServer(t, events)
  const rtmpdump = spawnTool(t, events, RTMPDUMP, ['-z', '--live', '-r', `rtmp://127.0.0.1:${port}/live/x`, '-o', '/dev/null'])

  const [hs, bytes] = await once(events, 'connect', { signal: AbortSignal.timeout(TOOL_WAIT_MS) }) as [ServerHandshake, Buffer]
  t.equal(hs.state, ServerHandshakeState.DONE, 'server reached DONE')
  t.equal(hs.kind, 'simple', 'librtmp sends C1 version 0 for plain rtmp://')
  t.equal(hs.peerVersion, 0)
  checkConnectChunk(t, bytes)
  // librtmp compares S2 with its C1 and warns when they differ
  await rtmpdump.waitFor(/handshaked/)
  t.match(rtmpdump.stderr(), /Handshaking finished/, 'librtmp finished its handshake')
  t.notMatch(rtmpdump.stderr(), /signature does not match|Type mismatch/, 'S0 and S2 as librtmp expects')
})

t.test('ClientHandshake completes the handshake with nginx-rtmp', { skip: nginxRtmpMissing() }, async (t) => {
  const { port } = await startNginxRtmp(t)
  const events = new EventEmitter()

  const socket = connect(port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  socket.on('error', (err) => events.emit('error', err))
  await once(socket, 'connect', { signal: AbortSignal.timeout(TOOL_WAIT_MS) })
  const hs = new ClientHandshake()
  const c0c1 = hs.start()
  socket.write(c0c1)
  const fromServer: Buffer[] = []
  let handshaking = true
  socket.on('data', (chunk: Buffer) => {
    fromServer.push(chunk)
    if (!handshaking) return
    try {
      hs.push(chunk)
    } catch (err) {
      events.emit('error', err)
      return
    }
    for (const b of hs.takeOutput()) socket.write(b)
    handshaking = hs.state !== ClientHandshakeState.DONE
    if (!handshaking) events.emit('done')
  })
  await once(events, 'done', { signal: AbortSignal.timeout(TOOL_WAIT_MS) })

  t.equal(hs.kind, 'complex', 'nginx-rtmp answered with a digest S1, and our check of it passed')
  t.equal(hs.scheme, 8, 'nginx-rtmp always signs S1 with scheme 8')
  t.equal(hs.peerVersion, SERVER_VERSION)
  t.equal(hs.leftover().length, 0, 'nginx-rtmp sends nothing before connect')
  // nginx-rtmp built S2 from the digest it found in our C1: so it found it
  const s = Buffer.concat(fromServer)
  const ourDigest = findDigest(c0c1.subarray(1), FP_KEY.subarray(0, 30))
  t.ok(ourDigest !== null && verifyResponse(s.subarray(1537, 3073), ourDigest.digest, FMS_KEY), 'S2 answers our C1 digest')
})
