// The typed, read-only configuration tree: the only conf module runtime code imports, and it
// imports it for types only. Every field is the camelCase of its directive with the unit in
// its name; the doc comment names the directive and its default (pingos-behaviour.md §1).
import type { ConfLocation } from '../core/errors.js'
import type { Template } from './variables.js'
import type { ListenAddress, ParsedUrl } from './values.js'

export type LogLevel = 'emerg' | 'alert' | 'crit' | 'error' | 'warn' | 'notice' | 'info' | 'debug'

export interface ErrorLogConf {
  /** file path (resolved against the prefix), or "stderr" */
  readonly path: string
  readonly level: LogLevel
}

export interface ResolverConf {
  /** host:port of each name server */
  readonly addresses: readonly string[]
  readonly validMs: number | null
  readonly ipv6: boolean
}

export interface EventsConf {
  /** worker_connections (default 512) */
  readonly workerConnections: number
  /** resolver (events{}, PingOS's event resolver; default none) */
  readonly resolver: ResolverConf | null
  /** resolver_timeout (default 60s) */
  readonly resolverTimeoutMs: number
  /** dynamic_refresh_interval (default 5s; 0 disables) */
  readonly dynamicRefreshIntervalMs: number
}

export interface MainConf {
  /** the prefix (-p) that relative paths of pid, error_log and root resolve against */
  readonly prefix: string
  /** the main configuration file, absolute */
  readonly confFile: string
  /** daemon (default on) */
  readonly daemon: boolean
  /** master_process (default on) */
  readonly masterProcess: boolean
  /** worker_processes (default 1) */
  readonly workerProcesses: number | 'auto'
  /** pid (default logs/edge.pid under the prefix) */
  readonly pidPath: string
  /** error_log (default stderr at level error) */
  readonly errorLogs: readonly ErrorLogConf[]
  /** connect_timeout (client module; default 3s): the TCP connect of every origin pull (notify requests are bounded whole by their timeout=) */
  readonly connectTimeoutMs: number
  /** send_timeout (client module; default 10s) */
  readonly sendTimeoutMs: number
  /** header_timeout (http client; default 10s) */
  readonly headerTimeoutMs: number
  /** keepalive (client module; default 60s): idle keep-alive of outbound HTTP */
  readonly keepaliveMs: number
  readonly events: EventsConf
  readonly rtmp: RtmpConf | null
  readonly http: HttpConf | null
}

// ---- rtmp ----------------------------------------------------------------------------------

export interface RtmpConf {
  readonly servers: readonly RtmpServerConf[]
  /** Listening addresses, each with the servers that declared it, in declaration order. */
  readonly listeners: readonly RtmpListener[]
  /** static_pull_port (default 1935) */
  readonly staticPullPort: string
  /** on_proc */
  readonly onProc: NotifyConf | null
  /** on_master */
  readonly onMaster: NotifyConf | null
  /** fast_reload (default off) */
  readonly fastReload: boolean
}

export interface RtmpListen {
  readonly address: ListenAddress
  /** listen ... default_server|default */
  readonly defaultServer: boolean
  readonly where: ConfLocation
}

/** One listening socket and the virtual servers on it (§1.9). */
export interface RtmpListener {
  readonly address: ListenAddress
  readonly servers: readonly RtmpServerConf[]
  /** the server used when no server_name matches: marked default_server, else the first */
  readonly defaultServer: RtmpServerConf
  /** serverid of the default server: the stream namespace for every vhost here (§1.9) */
  readonly serverId: string
}

export interface RtmpServerConf {
  readonly listens: readonly RtmpListen[]
  /** server_name (default "") */
  readonly serverNames: readonly string[]
  /** serverid (default "default") */
  readonly serverId: string
  /** applications by exact name, in order */
  readonly applications: readonly AppConf[]
  /** `application *` (the last one when several) */
  readonly starApplication: AppConf | null
  /** timeout (default 60s): write timeout, handshake timeout, HTTP-FLV no-data timeout, and the read timeout of pull legs (the longest an origin may send nothing) */
  readonly timeoutMs: number
  /** ping (default 60s; 0 off) */
  readonly pingMs: number
  /** ping_timeout (default 30s) */
  readonly pingTimeoutMs: number
  /** busy (default off) */
  readonly busy: boolean
  /** max_streams (default 64) */
  readonly maxStreams: number
  /** ack_window (default 5000000) */
  readonly ackWindow: number
  /** chunk_size (default 4096) */
  readonly chunkSize: number
  /** max_message (default 1m) */
  readonly maxMessageBytes: number
  /** out_queue (default 2048 frames) */
  readonly outQueue: number
  /** out_cork (default out_queue / 8) */
  readonly outCork: number
  /** buflen (default 1000ms) */
  readonly buflenMs: number
  /** play_time_fix (default on) */
  readonly playTimeFix: boolean
  /** publish_time_fix (default on) */
  readonly publishTimeFix: boolean
  /** tcp_nodelay (default on) */
  readonly tcpNodelay: boolean
  /** hevc_codecid (default 12) */
  readonly hevcCodecId: number
  /** max_connections (default unlimited: null) */
  readonly maxConnections: number | null
  readonly where: ConfLocation
}

export type MetaMode = 'on' | 'copy' | 'off'

export interface AppConf {
  /** `application <name>`; "*" for the wildcard application */
  readonly name: string
  /** live (default off) */
  readonly live: boolean
  /** idle_streams (default on) */
  readonly idleStreams: boolean
  /** wait_key (default on) */
  readonly waitKey: boolean
  /** wait_video (default off) */
  readonly waitVideo: boolean
  /** sync (default 300ms; null = off) */
  readonly syncMs: number | null
  /** interleave (default off) */
  readonly interleave: boolean
  /** buffer (default 0) */
  readonly bufferMs: number
  /** publish_notify (default off) */
  readonly publishNotify: boolean
  /** play_restart (default off) */
  readonly playRestart: boolean
  /** drop_idle_publisher (default off: null) */
  readonly dropIdlePublisherMs: number | null
  /** cache_time (default 0: no GOP cache) */
  readonly cacheTimeMs: number
  /** merge_frame (default 32, at most 64): media messages merged into one write at most */
  readonly mergeFrame: number
  /** merge_time (edge's own, default 40ms; 0 = the event-loop turn): how long media waits to be merged */
  readonly mergeTimeMs: number
  /** send_all (default off) */
  readonly sendAll: boolean
  /** low_latency (default off) */
  readonly lowLatency: boolean
  /** fix_timestamp (default 10s) */
  readonly fixTimestampMs: number
  /** zero_start (default off) */
  readonly zeroStart: boolean
  /** meta (default on) */
  readonly meta: MetaMode
  /** relay_reconnect (default 3s): per-attempt deadline and back-off ceiling */
  readonly relayReconnectMs: number
  /** failed_reconnect (default 50ms): first back-off after a fast failure */
  readonly failedReconnectMs: number
  /** relay_buffer (default 5s): SetBufferLength of RTMP pull legs */
  readonly relayBufferMs: number
  /** pull (application only, once) */
  readonly pull: RelayConf | null
  /** push (application only, repeatable) */
  readonly pushes: readonly RelayConf[]
  readonly notify: AppNotifyConf
  /** on_meta_once (default on) */
  readonly onMetaOnce: boolean
  /** on_meta_type (default video) */
  readonly onMetaType: 'video' | 'audio' | 'both'
  /** ignore_invalid_notify (default off) */
  readonly ignoreInvalidNotify: boolean
  /** allow / deny, parent levels first, first match wins */
  readonly access: readonly AccessRule[]
  /** `recorder` blocks in order, then the application's own `record` as the recorder "" (nginx-rtmp's order); only those that record */
  readonly recorders: readonly RecorderConf[]
  readonly where: ConfLocation
}

export type RecordWord = 'off' | 'all' | 'audio' | 'video' | 'keyframes' | 'manual'

/** The record_* directives of an application or a `recorder` block (ngx_rtmp_record_app_conf_t), inherited from the enclosing levels. */
export interface RecordConf {
  /** record (default off): the words of every `record` line of the nearest level that has one */
  readonly record: readonly RecordWord[]
  /** record_path (default ""): the directory, used as written (relative: to the working directory, as nginx-rtmp) */
  readonly recordPath: string
  /** record_suffix (default .flv), run through strftime at each open */
  readonly recordSuffix: string
  /** record_unique (default off): `-<unix seconds>` after the stream name */
  readonly recordUnique: boolean
  /** record_append (default off) */
  readonly recordAppend: boolean
  /** record_max_size (default 0: no limit) */
  readonly recordMaxSizeBytes: number
  /** record_max_frames (default 0: no limit) */
  readonly recordMaxFrames: number
  /** record_interval (default none: null) */
  readonly recordIntervalMs: number | null
  /** record_notify (default off) */
  readonly recordNotify: boolean
}

export interface RecorderConf extends RecordConf {
  /** `recorder <name>`; "" for the application's own `record` */
  readonly name: string
}

export interface RelayUrl {
  readonly scheme: 'rtmp' | 'http'
  readonly host: string
  readonly port: number
  /** as written in the config */
  readonly text: string
}

/** `pull`/`push url... [domain=] [app=] [name=] [pargs=] [referer=] [user_agent=]`; "" = unset */
export interface RelayConf {
  readonly urls: readonly RelayUrl[]
  readonly domain: string
  readonly app: string
  readonly name: string
  readonly pargs: string
  readonly referer: string
  readonly userAgent: string
  readonly where: ConfLocation
}

export type NotifyEvent =
  | 'play' | 'publish' | 'pull' | 'push' | 'stream' | 'meta' | 'record' | 'connect' | 'proc' | 'master'

/** `on_<event> http://... [args=] [groupid=] [stage=] [timeout=] [update=]` (§4.1) */
export interface NotifyConf {
  readonly event: NotifyEvent
  /** the URL as written */
  readonly url: string
  readonly parsed: ParsedUrl
  readonly args: { readonly text: string, readonly template: Template } | null
  readonly groupId: string | null
  /** stage=: start is always on */
  readonly stages: { readonly update: boolean, readonly done: boolean }
  /** timeout= (default 3s) */
  readonly timeoutMs: number
  /** update= (default 60s) */
  readonly updateMs: number
  readonly where: ConfLocation
}

export interface AppNotifyConf {
  readonly play: NotifyConf | null
  readonly publish: NotifyConf | null
  readonly pull: NotifyConf | null
  readonly stream: NotifyConf | null
  readonly record: NotifyConf | null
  /** on_push, up to 8 */
  readonly push: readonly NotifyConf[]
  /** on_meta, up to 8 */
  readonly meta: readonly NotifyConf[]
}

export type CidrMatch =
  | { readonly kind: 'all' }
  | { readonly kind: 'unix' }
  | { readonly kind: 'ipv4', readonly octets: readonly number[], readonly bits: number }
  | { readonly kind: 'ipv6', readonly address: string, readonly bits: number }

export interface AccessRule {
  readonly allow: boolean
  /** allow|deny [publish|play]: which action the rule covers */
  readonly action: 'publish' | 'play' | 'all'
  readonly match: CidrMatch
  readonly where: ConfLocation
}

// ---- http ----------------------------------------------------------------------------------

export interface HttpConf {
  readonly servers: readonly HttpServerConf[]
}

export interface HttpListen {
  readonly address: ListenAddress
  readonly ssl: boolean
  readonly defaultServer: boolean
  readonly where: ConfLocation
}

export interface HttpServerConf {
  /** listen (default *:80 as nginx; every sample conf sets one) */
  readonly listens: readonly HttpListen[]
  /** server_name (default "") */
  readonly serverNames: readonly string[]
  /** ssl_certificate (resolved against the conf directory) */
  readonly sslCertificate: string | null
  /** ssl_certificate_key */
  readonly sslCertificateKey: string | null
  readonly locations: readonly LocationConf[]
  readonly where: ConfLocation
}

export interface FlvLiveHandler {
  readonly kind: 'flv_live'
  /** the RTMP listen address named as first argument, as written */
  readonly rtmpListen: string
  /** ... as the listen address it names (`1935` → `0.0.0.0:1935`); "" when it names none */
  readonly rtmpListenAddress: string
  /** app= (null: from the URL) */
  readonly app: string | null
  /** audio= (default 1) */
  readonly audio: boolean
  /** video= (default 1) */
  readonly video: boolean
  readonly where: ConfLocation
}

export type LocationHandler =
  | FlvLiveHandler
  | { readonly kind: 'rtmp_stat' | 'rtmp_control' | 'sys_stat' | 'edge_metrics', readonly args: readonly string[], readonly where: ConfLocation }
  | { readonly kind: 'unsupported', readonly directive: string, readonly where: ConfLocation }
  | { readonly kind: 'static' }

export interface AddHeader {
  readonly name: string
  readonly value: string
  readonly always: boolean
}

export type LocationModifier = '' | '=' | '~' | '~*' | '^~' | '@'

export interface LocationConf {
  readonly modifier: LocationModifier
  /** the location's URI, regex or name */
  readonly path: string
  /** the compiled regex of a `~` / `~*` location, else null */
  readonly regex: RegExp | null
  readonly handler: LocationHandler
  /** root (default "html" under the prefix) */
  readonly root: string
  /** alias (null: root is used) */
  readonly alias: string | null
  /** index (default index.html) */
  readonly index: readonly string[]
  /** add_header, inherited only when the level has none (nginx) */
  readonly addHeaders: readonly AddHeader[]
  /** types (default: a small built-in table) */
  readonly types: ReadonlyMap<string, string>
  /** default_type (default text/plain) */
  readonly defaultType: string
  /** chunked_transfer_encoding (default on) */
  readonly chunkedTransferEncoding: boolean
  /** allow / deny (http): who may use the location, first matching rule wins */
  readonly access: readonly AccessRule[]
  /** rtmp_stat_stylesheet (default none) */
  readonly rtmpStatStylesheet: string | null
  /** rtmp_stat_format (nginx-http-flv-module's; default xml) */
  readonly rtmpStatFormat: 'xml' | 'json'
  readonly locations: readonly LocationConf[]
  readonly where: ConfLocation
}
