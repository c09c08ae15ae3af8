// Issue 9 (found by the fuzzer and by review): where a request head ends depended on how its
// bytes were split (the CRLF blank line was looked for before the LF one), and each pushed
// piece made the reader search the whole head again, so a head trickled a line at a time cost
// time quadratic in its size.
import t from 'tap'
import { BadRequest, HTTP_MAX_HEAD_BYTES, RequestHeadReader, type HttpRequest } from '../../lib/http/request.js'

/** The outcome of reading `bytes` pushed as `pieces`: the request path and rest, or the error. */
function read(pieces: readonly Buffer[]): string {
  const r = new RequestHeadReader()
  try {
    for (let i = 0; i < pieces.length; i++) {
      const req: HttpRequest | null = r.push(pieces[i])
      // what follows a complete head is the next request's, as the connection holds it
      if (req !== null) return `${req.path} rest=${Buffer.concat([req.rest, ...pieces.slice(i + 1)]).toString('latin1')}`
    }
    return 'incomplete'
  } catch (err) {
    if (err instanceof BadRequest) return `${err.status} ${err.message}`
    throw err
  }
}

t.test('the first empty line ends the head, however the bytes are split', async (t) => {
  const bytes = Buffer.from('GET /a HTTP/1.1\n\nGET /b HTTP/1.1\r\n\r\n')
  const whole = read([bytes])
  t.equal(whole, '/a rest=GET /b HTTP/1.1\r\n\r\n')
  for (let i = 1; i < bytes.length; i++) t.equal(read([bytes.subarray(0, i), bytes.subarray(i)]), whole, `split at ${i}`)
})

t.test('a head trickled two bytes at a time is searched once, not once per piece', async (t) => {
  const r = new RequestHeadReader()
  r.push(Buffer.from('GET / HTTP/1.1\r\n'))
  const line = Buffer.from('a\n')
  const started = performance.now()
  let outcome = 'incomplete'
  try {
    for (let i = 0; i < HTTP_MAX_HEAD_BYTES; i += line.length) r.push(line)
  } catch (err) {
    if (!(err instanceof BadRequest)) throw err
    outcome = `${err.status}`
  }
  const ms = performance.now() - started
  t.equal(outcome, '494', 'refused as too large')
  // quadratic: ~3 s on this machine; linear: ~0.15 s
  t.ok(ms < 1000, `${Math.round(ms)} ms for ${HTTP_MAX_HEAD_BYTES / line.length} pieces`)
})
