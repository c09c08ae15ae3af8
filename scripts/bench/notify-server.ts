// The business server of notify.bench.ts, forked into its own process so that its CPU is
// neither the bench's nor the edge's: GET /p gets an empty 200 at once, GET /hang is held open
// and never answered. It reads only the request line (a notify request fits one segment).
//
//   parent ──fork──► this process ──IPC { port }──► parent
//   parent ──IPC 'count'──► this process ──IPC NotifyCounts──► parent
import { createServer, type Socket } from 'node:net'

export interface NotifyCounts {
  /** GET /p answered since start */
  readonly answered: number
  /** GET /hang received since start */
  readonly held: number
  /** GET /hang connections still open (the edge has not given up on them) */
  readonly heldOpen: number
}

const ANSWER = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'latin1')
/** a request line longer than this is not a notify request */
const MAX_HEAD_BYTES = 8192

let answered = 0
let held = 0
const open = new Set<Socket>()

const server = createServer((socket) => {
  let head = ''
  let seen = false
  socket.on('error', () => { /* the edge destroys its callout socket once it has the head, or gives up */ })
  socket.on('data', (d: Buffer) => {
    if (seen) return // the rest of the request head
    head += d.toString('latin1')
    const eol = head.indexOf('\r\n')
    if (eol === -1) {
      if (head.length > MAX_HEAD_BYTES) socket.destroy()
      return
    }
    const path = head.slice(0, eol).split(' ')[1] ?? ''
    if (path.startsWith('/hang')) {
      held++
      open.add(socket)
      socket.on('close', () => open.delete(socket))
    } else {
      answered++
      socket.end(ANSWER)
    }
    seen = true
  })
})

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as { port: number }).port })
})

process.on('message', (m) => {
  if (m === 'count') process.send?.({ answered, held, heldOpen: open.size } satisfies NotifyCounts)
})
// the parent went away: so does this process
process.on('disconnect', () => process.exit(0))
