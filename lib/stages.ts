// What the play pipeline knows about a player, whichever protocol it came in on: the fields
// PingOS copies into a pull leg (§2.2) and exposes as notify variables (§6.1).

export interface PlayInfo {
  /** connection number (`clientid`), shared by RTMP and HTTP */
  readonly clientId: number
  /** RTMP: tcUrl host without port; HTTP: Host header, lower-case, no port */
  readonly domain: string
  readonly app: string
  /** stream name without the query */
  readonly name: string
  /** RTMP: query of the play name; HTTP: the whole raw query string */
  readonly pargs: string
  /** RTMP: query of the connect app; HTTP: "" */
  readonly args: string
  readonly flashVer: string
  readonly swfUrl: string
  readonly tcUrl: string
  /** RTMP: connect pageUrl; HTTP: Referer */
  readonly pageUrl: string
  readonly audioCodecs: number
  readonly videoCodecs: number
  readonly scheme: 'rtmp' | 'http' | 'https'
  readonly serverId: string
  readonly remoteAddr: string
  readonly remotePort: string
  readonly serverAddr: string
  readonly serverPort: string
}

/** An RTMP status a failed play ends with, and the HTTP status an HTTP-FLV player gets. */
export interface PlayFailure {
  readonly level: string
  readonly code: string
  readonly description: string
  /** sent as onStatus, or as _error when the origin used _error */
  readonly viaError: boolean
  readonly httpStatus: number
}
