// RTMP handshake: plain and digest, server and client, every input also split at every offset.
// The digest algorithm is written out again here from the description (Adobe RTMP 5.2 plus the
// FMS digest scheme), so the tests do not trust lib/rtmp/handshake.ts to check itself.
import { createHmac, randomBytes } from 'node:crypto'
import t from 'tap'
import { EdgeError, ProtocolError } from '../../lib/core/errors.js'
import {
  CLIENT_VERSION,
  ClientHandshake,
  ClientHandshakeState,
  FMS_KEY,
  FP_KEY,
  SERVER_VERSION,
  ServerHandshake,
  ServerHandshakeState,
  type DigestScheme,
} from '../../lib/rtmp/handshake.js'
import { thrown } from '../helpers/unit.js'

const PACKET = 1536
const KEY_TAIL = Buffer.from([
  0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57,
  0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
])
const FMS = Buffer.concat([Buffer.from('Genuine Adobe Flash Media Server 001', 'latin1'), KEY_TAIL])
const FP = Buffer.concat([Buffer.from('Genuine Adobe Flash Player 001', 'latin1'), KEY_TAIL])
const FMS_PARTIAL = FMS.subarray(0, 36)
const FP_PARTIAL = FP.subarray(0, 30)
const EPOCH = 0x01020304
/** what ffmpeg's client puts in C1[4..7]: 9.0.124.2 */
const FFMPEG_VERSION = 0x09007c02
/** the start of a chunk stream: a Set Chunk Size message on csid 2 */
const TRAILING = Buffer.from('02000000000004010000000000001000', 'hex')

function hmac(key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac('sha256', key)
  for (const p of parts) h.update(p)
  return h.digest()
}

function digestAt(packet: Buffer, scheme: DigestScheme): number {
  let sum = 0
  for (let i = 0; i < 4; i++) sum += packet[scheme + i]
  return (sum % 728) + scheme + 4
}

/** Signs a 1536-byte C1/S1 in place; returns a copy of the digest. */
function sign(packet: Buffer, key: Buffer, scheme: DigestScheme): Buffer {
  const at = digestAt(packet, scheme)
  const d = hmac(key, packet.subarray(0, at), packet.subarray(at + 32))
  d.copy(packet, at)
  return d
}

/** The digest if `packet` is validly signed under `scheme`, else null. */
function signedDigest(packet: Buffer, key: Buffer, scheme: DigestScheme): Buffer | null {
  const at = digestAt(packet, scheme)
  const d = packet.subarray(at, at + 32)
  return hmac(key, packet.subarray(0, at), packet.subarray(at + 32)).equals(d) ? d : null
}

function responseValid(packet: Buffer, peerDigest: Buffer, responderFullKey: Buffer): boolean {
  const key = hmac(responderFullKey, peerDigest)
  return hmac(key, packet.subarray(0, PACKET - 32)).equals(packet.subarray(PACKET - 32))
}

/** C0 + C1 (or S0 + S1): 3, time, version, random. */
function challenge(version: number): Buffer {
  const b = Buffer.concat([Buffer.from([3]), randomBytes(PACKET)])
  b.writeUInt32BE(EPOCH, 1)
  b.writeUInt32BE(version, 5)
  return b
}

/** Every way to cut `bytes` in two (and once byte by byte), each fed to a fresh parser. */
function* splits(bytes: Buffer): Generator<[string, Buffer[]]> {
  for (let i = 1; i < bytes.length; i++) yield [`split at ${i}`, [bytes.subarray(0, i), bytes.subarray(i)]]
  const single: Buffer[] = []
  for (let i = 0; i < bytes.length; i++) single.push(bytes.subarray(i, i + 1))
  yield ['byte by byte', single]
}

interface ServerRun {
  readonly state: ServerHandshakeState
  readonly kind: string | null
  readonly scheme: DigestScheme | null
  /** S0 S1 S2 as written */
  readonly out: Buffer
  /** leftover() plus every later chunk: what the chunk reader would get */
  readonly leftover: Buffer | null
}

/** Drives a handshake the way a session does: chunks after DONE go to the chunk stream. */
function drive(hs: ServerHandshake | ClientHandshake, parts: readonly Buffer[]): { out: Buffer, stream: Buffer | null } {
  const out: Buffer[] = []
  const stream: Buffer[] = []
  let done = false
  for (const p of parts) {
    if (done) {
      stream.push(p)
      continue
    }
    hs.push(p)
    out.push(...hs.takeOutput())
    if (hs.state === 'DONE') {
      done = true
      stream.push(hs.leftover())
    }
  }
  return { out: Buffer.concat(out), stream: done ? Buffer.concat(stream) : null }
}

function runServer(parts: readonly Buffer[]): ServerRun {
  const s = new ServerHandshake({ epochMs: EPOCH })
  const { out, stream } = drive(s, parts)
  return { state: s.state, kind: s.kind, scheme: s.scheme, out, leftover: stream }
}

/** What a client can check of the server's answer: everything not random. */
function serverSummary(r: ServerRun, c1: Buffer, clientDigest: Buffer | null): Record<string, unknown> {
  const s1 = r.out.subarray(1, 1 + PACKET)
  const s2 = r.out.subarray(1 + PACKET)
  return {
    state: r.state,
    kind: r.kind,
    scheme: r.scheme,
    outBytes: r.out.length,
    s0: r.out[0],
    s1Time: s1.readUInt32BE(0),
    s1Version: s1.readUInt32BE(4),
    s1Digest772: signedDigest(s1, FMS_PARTIAL, 772) !== null,
    s1Digest8: signedDigest(s1, FMS_PARTIAL, 8) !== null,
    s2EchoesC1: s2.equals(c1),
    s2Valid: clientDigest !== null && responseValid(s2, clientDigest, FMS),
    leftover: r.leftover?.toString('hex'),
  }
}

t.test('keys and versions are the published constants', async (t) => {
  t.equal(FMS_KEY.length, 68)
  t.equal(FP_KEY.length, 62)
  t.ok(FMS_KEY.equals(FMS))
  t.ok(FP_KEY.equals(FP))
  t.equal(SERVER_VERSION, 0x0d0e0a0d)
  t.equal(CLIENT_VERSION, 0x0c000d0e)
})

t.test('server: simple client (C1 version 0) gets S0=3, S1 time/zero/random, S2 = C1', async (t) => {
  const c0c1 = challenge(0)
  const c1 = c0c1.subarray(1)
  const c2 = randomBytes(PACKET)
  const input = Buffer.concat([c0c1, c2, TRAILING])

  const s = new ServerHandshake({ epochMs: EPOCH })
  t.equal(s.state, ServerHandshakeState.C0C1)
  s.push(c0c1)
  t.equal(s.state, ServerHandshakeState.C2)
  const out = Buffer.concat(s.takeOutput())
  t.equal(out.length, 1 + 2 * PACKET, 'S0 S1 S2 sent together, right after C0 C1')
  t.equal(out[0], 3, 'S0')
  t.equal(out.readUInt32BE(1), EPOCH, 'S1 time')
  t.equal(out.readUInt32BE(5), 0, 'S1 zero')
  t.ok(out.subarray(1 + PACKET).equals(c1), 'S2 echoes C1')
  t.equal(s.kind, 'simple')
  t.equal(s.peerVersion, 0)
  t.equal(s.peerEpochMs, EPOCH)
  s.push(Buffer.concat([c2, TRAILING]))
  t.equal(s.state, ServerHandshakeState.DONE)
  t.same(s.takeOutput(), [], 'nothing more to send')
  t.equal(s.leftover().toString('hex'), TRAILING.toString('hex'))

  // all in one chunk: the leftover is a view of that chunk
  const one = new ServerHandshake()
  one.push(input)
  const left = one.leftover()
  t.equal(left.buffer, input.buffer, 'leftover shares the input memory')
  t.equal(left.byteOffset, input.byteOffset + 1 + 2 * PACKET)
  t.equal(left.length, TRAILING.length)

  // C2 ending exactly at a chunk end: DONE with an empty leftover
  const exact = new ServerHandshake()
  exact.push(Buffer.concat([c0c1, c2]))
  t.equal(exact.state, ServerHandshakeState.DONE)
  t.equal(exact.leftover().length, 0)
})

t.test('server: simple handshake, input split at every offset', async (t) => {
  const c0c1 = challenge(0)
  const input = Buffer.concat([c0c1, randomBytes(PACKET), TRAILING])
  const expected = serverSummary(runServer([input]), c0c1.subarray(1), null)
  t.match(expected, { state: 'DONE', kind: 'simple', outBytes: 3073, s0: 3, s1Time: EPOCH, s1Version: 0, s2EchoesC1: true })
  const bad: string[] = []
  for (const [name, parts] of splits(input)) {
    const got = serverSummary(runServer(parts), c0c1.subarray(1), null)
    if (JSON.stringify(got) !== JSON.stringify(expected)) bad.push(`${name}: ${JSON.stringify(got)}`)
  }
  t.same(bad, [], `${input.length} ways in, one answer`)
})

for (const scheme of [772, 8] as const) {
  t.test(`server: complex client, digest scheme ${scheme}`, async (t) => {
    const c0c1 = challenge(FFMPEG_VERSION)
    const c1 = c0c1.subarray(1)
    const clientDigest = sign(c1, FP_PARTIAL, scheme)
    t.ok(signedDigest(c1, FP_PARTIAL, scheme), 'test C1 is signed')
    t.notOk(signedDigest(c1, FP_PARTIAL, scheme === 8 ? 772 : 8), 'and only under one scheme')
    const input = Buffer.concat([c0c1, randomBytes(PACKET), TRAILING])

    const run = runServer([input])
    const expected = serverSummary(run, c1, clientDigest)
    t.same(expected, {
      state: 'DONE',
      kind: 'complex',
      scheme,
      outBytes: 3073,
      s0: 3,
      s1Time: EPOCH,
      s1Version: 0x0d0e0a0d,
      s1Digest772: scheme === 772,
      s1Digest8: scheme === 8,
      s2EchoesC1: false,
      s2Valid: true,
      leftover: TRAILING.toString('hex'),
    }, 'S1 signed with the FMS key at the client\'s scheme; S2 answers the client digest')
    t.equal(run.out.subarray(5, 9).toString('hex'), '0d0e0a0d', 'server version bytes')

    const bad: string[] = []
    for (const [name, parts] of splits(input)) {
      const got = serverSummary(runServer(parts), c1, clientDigest)
      if (JSON.stringify(got) !== JSON.stringify(expected)) bad.push(`${name}: ${JSON.stringify(got)}`)
    }
    t.same(bad, [], `${input.length} ways in, one answer`)
  })
}

t.test('server: garbage', async (t) => {
  for (const c0 of [0, 4, 6, 0x47 /* "G" of GET */]) {
    const s = new ServerHandshake()
    const err = thrown(() => s.push(Buffer.from([c0, 1, 2, 3])))
    t.ok(err instanceof ProtocolError, `C0=${c0} is a ProtocolError`)
    t.equal((err as EdgeError).code, 'ERR_RTMP_HANDSHAKE')
    t.equal((err as EdgeError).message, `handshake: unexpected RTMP version: ${c0}`)
    t.equal(s.state, ServerHandshakeState.FAILED)
    t.same(s.takeOutput(), [], 'nothing sent')
    t.throws(() => s.push(Buffer.from([3])), 'no input after FAILED')
  }

  // C0 arriving alone, wrong: fails at once, without waiting for C1
  const alone = new ServerHandshake()
  t.throws(() => alone.push(Buffer.from([9])), { code: 'ERR_RTMP_HANDSHAKE' })

  // a C1 that claims a version but carries no valid digest: simple, not an error
  for (let i = 0; i < 20; i++) {
    const c0c1 = challenge(0x80000702 + i)
    const s = new ServerHandshake()
    s.push(c0c1)
    t.equal(s.kind, 'simple')
    const out = Buffer.concat(s.takeOutput())
    t.ok(out.subarray(1 + PACKET).equals(c0c1.subarray(1)), 'S2 echoes C1')
    t.equal(out.readUInt32BE(5), 0, 'S1 version zero')
  }

  const done = new ServerHandshake()
  done.push(Buffer.concat([challenge(0), randomBytes(PACKET)]))
  t.throws(() => done.push(TRAILING), 'chunk-stream bytes after DONE belong to the chunk reader')
  t.throws(() => new ServerHandshake().leftover(), 'no leftover before DONE')
})

t.test('client: C0 C1 as PingOS relays send it', async (t) => {
  const c = new ClientHandshake({ epochMs: EPOCH })
  t.equal(c.state, ClientHandshakeState.START)
  const c0c1 = c.start()
  t.equal(c.state, ClientHandshakeState.S0S1)
  t.equal(c0c1.length, 1 + PACKET)
  t.equal(c0c1[0], 3)
  t.equal(c0c1.readUInt32BE(1), EPOCH)
  t.equal(c0c1.subarray(5, 9).toString('hex'), '0c000d0e', 'client version 0x0C000D0E')
  t.ok(signedDigest(c0c1.subarray(1), FP_PARTIAL, 8), 'signed with the Flash Player key, scheme 8')
  t.throws(() => c.start(), 'start() once')
})

/** S0 S1 S2 of a complex server answering `c1`, built by the test. */
function complexServerReply(c1: Buffer, scheme: DigestScheme): { s0s1s2: Buffer, serverDigest: Buffer } {
  const clientDigest = signedDigest(c1, FP_PARTIAL, 8) ?? signedDigest(c1, FP_PARTIAL, 772)
  if (clientDigest === null) throw new Error('client C1 not signed')
  const s0s1 = challenge(SERVER_VERSION)
  const serverDigest = sign(s0s1.subarray(1), FMS_PARTIAL, scheme)
  const s2 = randomBytes(PACKET)
  hmac(hmac(FMS, clientDigest), s2.subarray(0, PACKET - 32)).copy(s2, PACKET - 32)
  return { s0s1s2: Buffer.concat([s0s1, s2]), serverDigest }
}

interface ClientRun {
  readonly state: ClientHandshakeState
  readonly kind: string | null
  readonly scheme: DigestScheme | null
  readonly out: Buffer
  readonly leftover: Buffer | null
}

function runClient(c: ClientHandshake, parts: readonly Buffer[]): ClientRun {
  const { out, stream } = drive(c, parts)
  return { state: c.state, kind: c.kind, scheme: c.scheme, out, leftover: stream }
}

for (const scheme of [772, 8] as const) {
  t.test(`client: complex server, digest scheme ${scheme}, split at every offset`, async (t) => {
    // One C1 for all runs (the server reply depends on it); each run gets a client primed with it.
    const first = new ClientHandshake()
    const c1 = first.start().subarray(1)
    const { s0s1s2, serverDigest } = complexServerReply(c1, scheme)
    const input = Buffer.concat([s0s1s2, TRAILING])
    const summary = (r: ClientRun): Record<string, unknown> => ({
      state: r.state,
      kind: r.kind,
      scheme: r.scheme,
      c2Bytes: r.out.length,
      c2Valid: responseValid(r.out, serverDigest, FP),
      leftover: r.leftover?.toString('hex'),
    })
    const expected = summary(runClient(first, [input]))
    t.same(expected, { state: 'DONE', kind: 'complex', scheme, c2Bytes: PACKET, c2Valid: true, leftover: TRAILING.toString('hex') })

    const bad: string[] = []
    for (const [name, parts] of splits(input)) {
      const c = new ClientHandshake()
      c.start()
      const got = summary(runClient(c, parts))
      if (JSON.stringify(got) !== JSON.stringify(expected)) bad.push(`${name}: ${JSON.stringify(got)}`)
    }
    t.same(bad, [], `${input.length} ways in, one answer`)
  })
}

t.test('client: simple servers get S1 echoed as C2', async (t) => {
  // version 0, as a plain server; and a version without digest, as nginx-rtmp echoing a C1
  for (const version of [0, 0x0d0e0a0d]) {
    const c = new ClientHandshake()
    const c0c1 = c.start()
    const s0s1 = challenge(version)
    const input = Buffer.concat([s0s1, c0c1.subarray(1), TRAILING])
    const expected = { state: 'DONE', kind: 'simple', scheme: null, c2: s0s1.subarray(1).toString('hex'), leftover: TRAILING.toString('hex') }
    const r = runClient(c, [input])
    t.same({ state: r.state, kind: r.kind, scheme: r.scheme, c2: r.out.toString('hex'), leftover: r.leftover?.toString('hex') }, expected,
      `S1 version ${version.toString(16)}`)
    t.equal(c.leftover().buffer, input.buffer, 'leftover is a view of the input')
    t.equal(c.leftover().byteOffset, input.byteOffset + 1 + 2 * PACKET)

    const bad: string[] = []
    for (const [name, parts] of splits(input)) {
      const c2 = new ClientHandshake()
      c2.start()
      const g = runClient(c2, parts)
      const got = { state: g.state, kind: g.kind, scheme: g.scheme, c2: g.out.toString('hex'), leftover: g.leftover?.toString('hex') }
      if (JSON.stringify(got) !== JSON.stringify(expected)) bad.push(name)
    }
    t.same(bad, [], `${input.length} ways in, one answer`)
  }
})

t.test('client: garbage', async (t) => {
  const c = new ClientHandshake()
  t.throws(() => c.push(Buffer.from([3])), 'push() before start()')
  c.start()
  const err = thrown(() => c.push(Buffer.from([6])))
  t.ok(err instanceof ProtocolError)
  t.equal((err as EdgeError).code, 'ERR_RTMP_HANDSHAKE')
  t.equal(c.state, ClientHandshakeState.FAILED)
  t.same(c.takeOutput(), [])
})

t.test('client ↔ server in memory, both directions with trailing chunk-stream bytes', async (t) => {
  const client = new ClientHandshake()
  const server = new ServerHandshake()
  const c0c1 = client.start()
  server.push(c0c1)
  const s0s1s2 = server.takeOutput()
  t.equal(server.kind, 'complex')
  t.equal(server.scheme, 8)
  t.equal(server.peerVersion, CLIENT_VERSION)

  const fromServer = Buffer.concat([...s0s1s2, TRAILING])
  client.push(fromServer)
  t.equal(client.state, ClientHandshakeState.DONE)
  t.equal(client.kind, 'complex')
  t.equal(client.scheme, 8)
  t.equal(client.peerVersion, SERVER_VERSION)
  t.equal(client.leftover().toString('hex'), TRAILING.toString('hex'))

  const c2 = client.takeOutput()
  t.equal(c2.length, 1)
  const fromClient = Buffer.concat([...c2, TRAILING])
  server.push(fromClient)
  t.equal(server.state, ServerHandshakeState.DONE)
  t.equal(server.leftover().toString('hex'), TRAILING.toString('hex'))

  // and each side's response verifies against the other's digest, checked by the test's own code
  const clientDigest = signedDigest(c0c1.subarray(1), FP_PARTIAL, 8)
  const s = Buffer.concat(s0s1s2)
  const serverDigest = signedDigest(s.subarray(1, 1 + PACKET), FMS_PARTIAL, 8)
  t.ok(clientDigest !== null && responseValid(s.subarray(1 + PACKET), clientDigest, FMS), 'S2 answers C1')
  t.ok(serverDigest !== null && responseValid(c2[0], serverDigest, FP), 'C2 answers S1')
})
