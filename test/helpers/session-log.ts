// Picking one client's lines out of edge's error log. Sessions are logged with their peer
// (`client: 127.0.0.1:<port>`), so a test that opened a connection finds that connection's
// lines by the connection's local port.

/** `client: <address>:<port>` ending the line or followed by `, app: …` */
export function peerPattern(port: number): RegExp {
  return new RegExp(`client: [0-9a-f.:]*:${port}(?:,|$)`, 'm')
}

/** Every log line about the client on local port `port`. */
export function peerLines(log: string, port: number): string[] {
  const re = peerPattern(port)
  return log.split('\n').filter((l) => re.test(l))
}

/** The `close:` lines (one per ended RTMP session) of that client. */
export function closeLines(log: string, port: number): string[] {
  return peerLines(log, port).filter((l) => / close: /.test(l))
}
