// The settings a live stream works by: its application's and server's, fixed when it is created.
import type { MetaMode } from '../conf/tree.js'

/** The application settings a stream works by (from AppConf and its server). */
export interface LiveOptions {
  readonly cacheTimeMs: number
  readonly sendAll: boolean
  readonly lowLatency: boolean
  readonly waitKey: boolean
  readonly waitVideo: boolean
  readonly idleStreams: boolean
  readonly meta: MetaMode
  readonly outQueue: number
  readonly chunkSize: number
  readonly hevcCodecId: number
  /** the `Server` value of rebuilt onMetaData */
  readonly serverName: string
  /** the serverid and the configured application (`*` for `application *`) the stream is in */
  readonly serverId: string
  readonly application: string
}
