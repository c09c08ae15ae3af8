// A minimal DNS server for tests (RFC 1035 §4): answers A queries from a table the test
// controls and records every name asked; anything else gets NXDOMAIN.
import { createSocket, type Socket } from 'node:dgram'
import { once } from 'node:events'

export class TestDnsServer {
  readonly queries: string[] = []
  readonly answers = new Map<string, string>()

  private constructor(private readonly socket: Socket, readonly port: number) {
    socket.on('message', (msg, rinfo) => {
      const reply = this.answer(msg)
      if (reply !== null) socket.send(reply, rinfo.port, rinfo.address)
    })
  }

  static async start(): Promise<TestDnsServer> {
    const socket = createSocket('udp4')
    socket.bind(0, '127.0.0.1')
    await once(socket, 'listening')
    return new TestDnsServer(socket, socket.address().port)
  }

  private answer(q: Buffer): Buffer | null {
    if (q.length < 12) return null
    const labels: string[] = []
    let at = 12
    while (at < q.length && q[at] !== 0) {
      labels.push(q.toString('latin1', at + 1, at + 1 + q[at]))
      at += 1 + q[at]
    }
    const questionEnd = at + 5
    if (questionEnd > q.length) return null
    const name = labels.join('.').toLowerCase()
    const qtype = q.readUInt16BE(at + 1)
    this.queries.push(name)
    const address = qtype === 1 ? this.answers.get(name) : undefined
    const header = Buffer.alloc(12)
    q.copy(header, 0, 0, 2)
    header.writeUInt16BE(address === undefined ? 0x8183 : 0x8180, 2) // response, RD+RA, NXDOMAIN or OK
    header.writeUInt16BE(1, 4)
    header.writeUInt16BE(address === undefined ? 0 : 1, 6)
    const question = q.subarray(12, questionEnd)
    if (address === undefined) return Buffer.concat([header, question])
    const rr = Buffer.alloc(16)
    rr.writeUInt16BE(0xc00c, 0) // name: pointer to the question
    rr.writeUInt16BE(1, 2) // A
    rr.writeUInt16BE(1, 4) // IN
    rr.writeUInt32BE(1, 6) // TTL 1 s
    rr.writeUInt16BE(4, 10)
    address.split('.').forEach((o, i) => { rr[12 + i] = Number(o) })
    return Buffer.concat([header, question, rr])
  }

  async stop(): Promise<void> {
    this.socket.close()
    await once(this.socket, 'close')
  }
}
