// The directive table: one row per directive PingOS accepts (pingos-behaviour.md §1; PingOS's
// own modules as test/fixtures/pingos-directives.tsv lists them), with the contexts it may
// appear in, its argument count, the setter that parses its value, and the slot of the typed
// tree it fills (slots.ts) with that field's default. A name may have several rows, one per
// module that declares it (rtmp `listen` and http `listen`; the client module's `tcp_nodelay`
// and rtmp's); the first row whose contexts include the current block is used, as
// ngx_conf_handler does.
import { ConfError } from '../core/errors.js'
import type { Statement } from './ast.js'
import {
  EVENTS, HTTP, HTTP_LIF, HTTP_LMT, HTTP_LOC, HTTP_SIF, HTTP_SRV, HTTP_UPS, MAIN, RTMP, RTMP_APP,
  RTMP_REC, RTMP_SRV, at, type ContextBit, type Scope,
} from './scope.js'
import {
  accept, acceptOnce, addHeader, bitmask, errorLog, first, flag, flvLive, httpAccess, httpListen, list,
  liveHandlerOptions, locationHandler, msec, msecOrOff, notifyOnce, notifyRepeated, num, numAtMost,
  offset, oneOf, pull, push, resolver, rootOrAlias, rtmpAccess, rtmpListen, sec, serverNames, size, str,
  types, workerProcesses, type Setter,
} from './setters.js'
import { slotsOf, unread, type Into, type Slot } from './slots.js'
import type { NotifyConf } from './tree.js'

/** [min, max] arguments after the name (nginx's NGX_CONF_TAKE*, 1MORE, ANY masks). */
export type Arity = readonly [number, number]

const N0: Arity = [0, 0]
const N1: Arity = [1, 1]
const N2: Arity = [2, 2]
const N01: Arity = [0, 1]
const N12: Arity = [1, 2]
const N13: Arity = [1, 3]
const N23: Arity = [2, 3]
const N1M: Arity = [1, Infinity]
const N2M: Arity = [2, Infinity]

export interface Directive {
  readonly name: string
  /** contexts (bit set) where the directive may be written */
  readonly ctx: number
  readonly args: Arity
  /** the row's setter applied to its slot (nginx's cmd->set with the conf and offset) */
  readonly set: (scope: Scope, stmt: Statement) => void
  /** the tree field the directive fills; null when no field reads it */
  readonly slot: Pick<Slot<unknown>, 'conf' | 'field' | 'merge'> | null
  /**
   * For block directives: the context of the block, or a function of the enclosing context
   * (`if` in a server vs a location), or 'free' for blocks whose entries are data (types, map).
   */
  readonly block?: ContextBit | ((parent: ContextBit) => ContextBit) | 'free'
  /** a normalised name for the block's scope (location modifiers) */
  readonly label?: (stmt: Statement) => string
  /** edge acts on it; other directives are accepted, checked, and named in a start-up [warn] */
  readonly runtime: boolean
}

const ALL_CONTEXTS = (1 << 13) - 1
const RS = RTMP | RTMP_SRV
const RSA = RS | RTMP_APP
const RSAR = RSA | RTMP_REC
const HSL = HTTP | HTTP_SRV | HTTP_LOC
const HSLI = HSL | HTTP_LIF
const HS = HTTP | HTTP_SRV
const REWRITE = HTTP_SRV | HTTP_LOC | HTTP_SIF | HTTP_LIF

const rows: Directive[] = []

type Extra = Partial<Pick<Directive, 'block' | 'label' | 'runtime'>>

/**
 * A row: `into` is the slot the setter fills (a tree field, typed: the setter's values must
 * fit the field), or null for a value no field reads, kept under the directive's name.
 */
function d<V>(name: string, ctx: number, args: Arity, set: Setter<V>, into: Into<V> | null = null, extra: Extra = {}): void {
  const place = into ?? unread<V>(name)
  const slot = 'field' in place ? place as Slot<V> : null
  rows.push({ name, ctx, args, set: (scope, stmt) => set(scope, stmt, place), slot, runtime: false, ...extra })
}

/** A directive edge acts on at run time. */
function r<V>(name: string, ctx: number, args: Arity, set: Setter<V>, into: Into<V> | null = null, extra: Extra = {}): void {
  d(name, ctx, args, set, into, { ...extra, runtime: true })
}

/** Structural blocks and include: the shape of the config, which edge always follows. */
const structural = r

// The confs of the tree, for slots: `app('cacheTimeMs', 0)` is AppConf.cacheTimeMs, default 0.
const main = slotsOf('main')
const events = slotsOf('events')
const rtmp = slotsOf('rtmp')
const srv = slotsOf('rtmpServer')
const app = slotsOf('app')
const appNotify = slotsOf('appNotify')
const httpSrv = slotsOf('httpServer')
const loc = slotsOf('location')

const SEC = 1000
const MiB = 1024 * 1024

// ---- main (nginx core, PingOS client/toolkit modules; §1.2) ---------------------------------
structural('include', ALL_CONTEXTS, N1, accept)
d('user', MAIN, N12, acceptOnce)
r('daemon', MAIN, N1, flag, main('daemon', true))
d('master_process', MAIN, N1, flag, main('masterProcess', true))
d('worker_processes', MAIN, N1, workerProcesses, main('workerProcesses', 1))
d('worker_rlimit_nofile', MAIN, N1, num)
d('worker_rlimit_core', MAIN, N1, offset)
d('worker_priority', MAIN, N1, str)
d('worker_cpu_affinity', MAIN, N1M, acceptOnce)
d('worker_shutdown_timeout', MAIN, N1, msec)
d('working_directory', MAIN, N1, str)
r('error_log', MAIN, N1M, errorLog, main('errorLogs', []))
r('error_log', HSL, N1M, errorLog)
r('pid', MAIN, N1, str, main('pidPath', 'logs/edge.pid'))
d('lock_file', MAIN, N1, str)
d('env', MAIN, N1, list)
d('load_module', MAIN, N1, list)
d('pcre_jit', MAIN, N1, flag)
d('timer_resolution', MAIN, N1, msec)
d('thread_pool', MAIN, N2M, list)
d('ssl_engine', MAIN, N1, str)
d('debug_points', MAIN, N1, oneOf('stop', 'abort'))
structural('events', MAIN, N0, acceptOnce, null, { block: EVENTS })
structural('http', MAIN, N0, acceptOnce, null, { block: HTTP })
structural('rtmp', MAIN, N0, acceptOnce, null, { block: RTMP })
d('stream_zone', MAIN, N2, acceptOnce)
d('dynamic_conf', MAIN, N2, acceptOnce)
d('dynamic_log', MAIN, N1M, acceptOnce)
d('stream_buckets', MAIN, N1, size)
d('server_buckets', MAIN, N1, size)
d('max_idle_client', MAIN, N1, num)
d('keepalive', MAIN, N1, msec, main('keepaliveMs', 60 * SEC))
r('connect_timeout', MAIN, N1, msec, main('connectTimeoutMs', 3 * SEC))
d('send_timeout', MAIN, N1, msec, main('sendTimeoutMs', 10 * SEC))
d('postpone_output', MAIN, N1, size)
d('dynamic_resolver', MAIN, N1, flag)
r('tcp_nodelay', MAIN, N1, flag)
d('tcp_nopush', MAIN, N1, flag)
d('header_timeout', MAIN, N1, msec, main('headerTimeoutMs', 10 * SEC))
d('header_buffer_size', MAIN, N1, size)
d('body_buffer_size', MAIN, N1, size)

// ---- events{} (§1.3) -----------------------------------------------------------------------
d('use', EVENTS, N1, str)
r('worker_connections', EVENTS, N1, num, events('workerConnections', 512))
d('multi_accept', EVENTS, N1, flag)
d('accept_mutex', EVENTS, N1, flag)
d('accept_mutex_delay', EVENTS, N1, msec)
d('debug_connection', EVENTS, N1, list)
d('worker_aio_requests', EVENTS, N1, num)
d('multi_listen', EVENTS, N2, list)
r('resolver', EVENTS, N1M, resolver, events('resolver', null))
r('resolver_timeout', EVENTS, N1, msec, events('resolverTimeoutMs', 60 * SEC))
d('resolver', HSL, N1M, resolver)
d('resolver_timeout', HSL, N1, msec)
d('dynamic_refresh_interval', EVENTS, N1, msec, events('dynamicRefreshIntervalMs', 5 * SEC))
d('dynamic_domain_buckets', EVENTS, N1, num)
d('worker_timers', EVENTS, N1, num)

// ---- rtmp{} only (§1.4) ----------------------------------------------------------------------
structural('server', RTMP, N0, accept, null, { block: RTMP_SRV })
d('server_names_hash_max_size', RTMP, N1, num)
d('server_names_hash_bucket_size', RTMP, N1, num)
d('fast_reload', RTMP, N1, flag, rtmp('fastReload', false))
d('log_format', RSA, N2M, list)
d('access_log', RSA, N13, list)
const ON_PROC = rtmp('onProc', null)
r('on_proc', RTMP, N1M, notifyOnce, ON_PROC)
r('oclp_proc', RTMP, N1M, notifyOnce, ON_PROC)
r('on_master', RTMP, N1M, notifyOnce, rtmp('onMaster', null))
d('static_pull_port', RTMP, N1, str, rtmp('staticPullPort', '1935'))
d('max_connections', RSA, N1, num, srv('maxConnections', null))

// ---- rtmp server{} (§1.5) --------------------------------------------------------------------
r('listen', RTMP_SRV, N12, rtmpListen, srv('listens', [], 'own'))
r('server_name', RTMP_SRV, N1M, serverNames, srv('serverNames', [''], 'own'))
r('serverid', RTMP_SRV, N1, str, srv('serverId', 'default'))
structural('application', RTMP_SRV, N1, accept, null, { block: RTMP_APP })
r('timeout', RS, N1, msec, srv('timeoutMs', 60 * SEC))
r('ping', RS, N1, msec, srv('pingMs', 60 * SEC))
r('ping_timeout', RS, N1, msec, srv('pingTimeoutMs', 30 * SEC))
d('busy', RS, N1, flag, srv('busy', false))
r('max_streams', RS, N1, num, srv('maxStreams', 64))
r('ack_window', RS, N1, num, srv('ackWindow', 5_000_000))
r('chunk_size', RS, N1, num, srv('chunkSize', 4096))
r('max_message', RS, N1, size, srv('maxMessageBytes', MiB))
r('out_queue', RS, N1, size, srv('outQueue', 2048))
d('out_cork', RS, N1, size, srv('outCork', (s) => Math.floor(s.outQueue / 8)))
d('buflen', RS, N1, msec, srv('buflenMs', 1000))
d('play_time_fix', RSA, N1, flag, srv('playTimeFix', true))
r('publish_time_fix', RSA, N1, flag, srv('publishTimeFix', true))
d('so_keepalive', RS, N1, flag)
r('merge_frame', RSA, N1, numAtMost(64, 'the merge_frame must be no larger than 64'), app('mergeFrame', 32))
r('tcp_nodelay', RSA, N1, flag, srv('tcpNodelay', true))
r('hevc_codecid', RSA, N1, num, srv('hevcCodecId', 12))
r('merge_time', RSA, N1, msec, app('mergeTimeMs', 40))
const ON_CONNECT = unread<NotifyConf>('on_connect')
d('on_connect', RTMP_SRV, N1M, notifyOnce, ON_CONNECT)
d('oclp_connect', RTMP_SRV, N1M, notifyOnce, ON_CONNECT)

// ---- application (§1.6): live, GOP cache ------------------------------------------------------
r('live', RSA, N1, flag, app('live', false))
r('idle_streams', RSA, N1, flag, app('idleStreams', true))
r('wait_key', RSA, N1, flag, app('waitKey', true))
r('wait_video', RSA, N1, flag, app('waitVideo', false))
d('sync', RSA, N1, msecOrOff, app('syncMs', 300))
d('interleave', RSA, N1, flag, app('interleave', false))
d('buffer', RSA, N1, msec, app('bufferMs', 0))
d('publish_notify', RSA, N1, flag, app('publishNotify', false))
d('play_restart', RSA, N1, flag, app('playRestart', false))
d('drop_idle_publisher', RSA, N1, msecOrOff, app('dropIdlePublisherMs', null))
r('cache_time', RSA, N1, msec, app('cacheTimeMs', 0))
r('send_all', RSA, N1, flag, app('sendAll', false))
r('low_latency', RSA, N1, flag, app('lowLatency', false))
d('fix_timestamp', RSA, N1, msec, app('fixTimestampMs', 10 * SEC))
d('zero_start', RSA, N1, flag, app('zeroStart', false))
r('meta', RSA, N1, oneOf('on', 'copy', 'off'), app('meta', 'on'))

// relay
r('pull', RTMP_APP, N1M, pull, app('pull', null, 'own'))
d('push', RTMP_APP, N1M, push, app('pushes', [], 'own'))
r('relay_reconnect', RSA, N1, msec, app('relayReconnectMs', 3 * SEC))
r('failed_reconnect', RSA, N1, msec, app('failedReconnectMs', 50))
r('relay_buffer', RSA, N1, msec, app('relayBufferMs', 5 * SEC))
d('rtmp_auto_pull', RSA, N1, flag)
d('rtmp_auto_pull_port', RSA, N1, str)

// notifications: on_<event> and oclp_<event> fill one slot (one entry of ngx_rtmp_notify's events)
const ON_PULL = appNotify('pull', null, 'own')
r('on_pull', RTMP_APP, N1M, notifyOnce, ON_PULL)
r('oclp_pull', RTMP_APP, N1M, notifyOnce, ON_PULL)
for (const e of ['play', 'publish', 'stream'] as const) {
  const slot = appNotify(e, null, 'own')
  r(`on_${e}`, RTMP_APP, N1M, notifyOnce, slot)
  r(`oclp_${e}`, RTMP_APP, N1M, notifyOnce, slot)
}
// on_record is sent by live_record, on_push by push relays (issue 11)
const ON_RECORD = appNotify('record', null, 'own')
d('on_record', RTMP_APP, N1M, notifyOnce, ON_RECORD)
d('oclp_record', RTMP_APP, N1M, notifyOnce, ON_RECORD)
const ON_PUSH = appNotify('push', [], 'own')
d('on_push', RTMP_APP, N1M, notifyRepeated, ON_PUSH)
d('oclp_push', RTMP_APP, N1M, notifyRepeated, ON_PUSH)
const ON_META = appNotify('meta', [], 'own')
r('on_meta', RTMP_APP, N1M, notifyRepeated, ON_META)
r('oclp_meta', RTMP_APP, N1M, notifyRepeated, ON_META)
// flag and enum slots declared NGX_CONF_1MORE: the first argument counts, the rest are ignored
const META_ONCE = app('onMetaOnce', true)
const META_TYPE = app('onMetaType', 'video')
r('on_meta_once', RSA, N1M, flag, META_ONCE)
r('oclp_meta_once', RSA, N1M, flag, META_ONCE)
r('on_meta_type', RSA, N1M, oneOf('video', 'audio', 'both'), META_TYPE)
r('oclp_meta_type', RSA, N1M, oneOf('video', 'audio', 'both'), META_TYPE)
r('ignore_invalid_notify', RSA, N1, flag, app('ignoreInvalidNotify', false))

// access
const ACCESS = app('access', [], 'concat')
r('allow', RSA, N12, rtmpAccess, ACCESS)
r('deny', RSA, N12, rtmpAccess, ACCESS)

// recording (§10)
d('live_record', RSA, N1, flag)
d('live_record_path', RSA, N1, str)
d('live_record_interval', RSA, N1, msec)
d('live_record_min_fragment', RSA, N1, msec)
d('live_record_max_fragment', RSA, N1, msec)
d('live_record_buffer', RSA, N1, size)
d('record', RSAR, N1M, bitmask('off', 'all', 'audio', 'video', 'keyframes', 'manual'))
d('record_path', RSAR, N1, str)
d('record_suffix', RSAR, N1, str)
d('record_unique', RSAR, N1, flag)
d('record_append', RSAR, N1, flag)
d('record_lock', RSAR, N1, flag)
d('record_max_size', RSAR, N1, size)
d('record_max_frames', RSAR, N1, size)
d('record_interval', RSAR, N1, msec)
d('record_notify', RSAR, N1, flag)
d('recorder', RTMP_APP, N1, accept, null, { block: RTMP_REC })

// exec
for (const name of ['exec', 'exec_push', 'exec_pull', 'exec_publish', 'exec_publish_done', 'exec_play',
  'exec_play_done']) d(name, RSA, N1M, list)
d('exec_record_done', RSAR, N1M, list)
d('exec_static', RSA, N1M, list)
d('exec_options', RSA, N1, flag)
d('exec_kill_signal', RSA, N1, str)
d('respawn', RSA, N1, flag)
d('respawn_timeout', RSA, N1, msec)

// hls, dash, hls2, mpegts, monitor
d('hls', RSA, N1, flag)
d('hls_path', RSA, N1, str)
d('hls_fragment', RSA, N1, msec)
d('hls_max_fragment', RSA, N1, msec)
d('hls_playlist_length', RSA, N1, msec)
d('hls_muxdelay', RSA, N1, msec)
d('hls_sync', RSA, N1, msec)
d('hls_continuous', RSA, N1, flag)
d('hls_nested', RSA, N1, flag)
d('hls_fragment_naming', RSA, N1, oneOf('sequential', 'timestamp', 'system'))
d('hls_fragment_naming_granularity', RSA, N1, num)
d('hls_fragment_slicing', RSA, N1, oneOf('plain', 'aligned'))
d('hls_type', RSA, N1, oneOf('live', 'event'))
d('hls_max_audio_delay', RSA, N1, msec)
d('hls_audio_buffer_size', RSA, N1, size)
d('hls_cleanup', RSA, N1, flag)
d('hls_variant', RSA, N1M, list)
d('hls_base_url', RSA, N1, str)
d('hls_keys', RSA, N1, flag)
d('hls_key_path', RSA, N1, str)
d('hls_key_url', RSA, N1, str)
d('hls_fragments_per_key', RSA, N1, num)
d('dash', RSA, N1, flag)
d('dash_fragment', RSA, N1, msec)
d('dash_path', RSA, N1, str)
d('dash_playlist_length', RSA, N1, msec)
d('dash_cleanup', RSA, N1, flag)
d('dash_nested', RSA, N1, flag)
d('hls2', RSA, N1, flag)
d('hls2memory', RSA, N1, flag)
d('hls2_fragment', RSA, N1, msec)
d('hls2_max_fragment', RSA, N1, msec)
d('hls2_playlist_length', RSA, N1, msec)
d('hls2_minfrags', RSA, N1, num)
d('hls2_fragment_slicing', RSA, N1, oneOf('plain', 'aligned'))
d('hls2_audio_buffer_size', RSA, N1, size)
d('hls2_cleanup', RSA, N1, flag)
d('hls2_base_url', RSA, N1, str)
d('hls2_timeout', RSA, N1, msec)
d('mpegts_cache_time', RSA, N1, msec)
d('mpegts_roll_back', RSA, N1, msec)
d('mpegts_one_off_send', RSA, N1, msec)
d('mpegts_low_latency', RSA, N1, flag)
d('mpegts_send_all', RSA, N1, flag)
d('mpegts_fix_timestamp', RSA, N1, msec)
d('mpegts_zero_start', RSA, N1, flag)
d('mpegts_audio_buffer_size', RSA, N1, size)
d('mpegts_sync', RSA, N1, msec)
d('mpegts_audio_delay', RSA, N1, msec)
d('mpegts_out_queue', RSA, N1, size)
d('dump', RSA, N1, acceptOnce)
d('buffered_log', RSA, N1M, acceptOnce)

// ---- http{} (PingOS modules §1.7 and the stock nginx directives of §1.8) ---------------------
structural('server', HTTP, N0, accept, null, { block: HTTP_SRV })
r('listen', HTTP_SRV, N1M, httpListen, httpSrv('listens', [], 'own'))
r('server_name', HTTP_SRV, N1M, serverNames, httpSrv('serverNames', [''], 'own'))
structural('location', HTTP_SRV | HTTP_LOC, N12, accept, null, { block: HTTP_LOC, label: locationLabel })
// without a `types` block, nginx's built-in table (ngx_http_core_default_types)
const DEFAULT_TYPES: ReadonlyMap<string, string> = new Map([['html', 'text/html'], ['gif', 'image/gif'], ['jpg', 'image/jpeg']])
structural('types', HSL, N0, types, loc('types', DEFAULT_TYPES), { block: 'free' })
d('upstream', HTTP, N1, accept, null, { block: HTTP_UPS })
d('map', HTTP, N2, accept, null, { block: 'free' })
d('geo', HTTP, N12, accept, null, { block: 'free' })
d('split_clients', HTTP, N2, accept, null, { block: 'free' })
d('if', HTTP_SRV | HTTP_LOC, N1M, accept, null, { block: (parent) => (parent === HTTP_SRV ? HTTP_SIF : HTTP_LIF) })
d('limit_except', HTTP_LOC, N1M, accept, null, { block: HTTP_LMT })
d('server_names_hash_max_size', HTTP, N1, num)
d('server_names_hash_bucket_size', HTTP, N1, num)
d('log_format', HTTP, N2M, list)
d('access_log', HSL | HTTP_LIF | HTTP_LMT, N1M, list)

// the location's handler: one per location, whichever module sets it
const HANDLER = loc('handler', { kind: 'static' }, 'own')
r('flv_live', HTTP_LOC, N13, flvLive, HANDLER)
d('ts_live', HTTP_LOC, N12, liveHandlerOptions('app'), HANDLER)
d('hls2_live', HTTP_LOC, N1M, liveHandlerOptions('app', 'flashver', 'swf_url', 'tc_url', 'page_url'), HANDLER)
d('rtmp_stat', HSL, N1M, locationHandler('rtmp_stat', ['all', 'global', 'live', 'clients']), HANDLER)
d('rtmp_stat_stylesheet', HSL, N1, str)
d('rtmp_control', HSL, N1M, locationHandler('rtmp_control', ['all', 'record', 'drop', 'redirect', 'pause', 'resume']), HANDLER)
d('sys_stat', HTTP_LOC, N0, locationHandler('sys_stat'), HANDLER)
d('broadcast', HTTP_LOC, N2, locationHandler('unsupported'), HANDLER)
d('broadcast_rewrite_prefix', HTTP_LOC, N2, acceptOnce)
d('broadcast_suffix', HTTP_LOC, N1, str)
d('inner_proxy', HSL, N2, acceptOnce)
d('http_trace', HTTP, N0, acceptOnce)

r('default_type', HSL, N1, str, loc('defaultType', 'text/plain'))
d('sendfile', HSLI, N1, flag)
d('sendfile_max_chunk', HSL, N1, size)
d('keepalive_timeout', HSL, N12, acceptOnce)
d('keepalive_requests', HSL, N1, num)
d('send_timeout', HSL, N1, msec)
d('postpone_output', HSL, N1, size)
r('tcp_nodelay', HSL, N1, flag)
d('tcp_nopush', HSL, N1, flag)
d('client_max_body_size', HSL, N1, offset)
d('client_body_timeout', HSL, N1, msec)
d('client_body_buffer_size', HSL, N1, size)
d('client_header_timeout', HS, N1, msec)
d('client_header_buffer_size', HS, N1, size)
d('large_client_header_buffers', HS, N2, acceptOnce)
d('server_tokens', HSL, N1, acceptOnce)
r('chunked_transfer_encoding', HSL, N1, flag, loc('chunkedTransferEncoding', true))
d('charset', HSLI, N1, str)
d('types_hash_max_size', HSL, N1, num)
d('types_hash_bucket_size', HSL, N1, num)
d('variables_hash_max_size', HTTP, N1, num)
d('variables_hash_bucket_size', HTTP, N1, num)
d('map_hash_max_size', HTTP, N1, num)
d('map_hash_bucket_size', HTTP, N1, num)
d('underscores_in_headers', HS, N1, flag)
d('ignore_invalid_headers', HS, N1, flag)
d('reset_timedout_connection', HSL, N1, flag)
d('lingering_close', HSL, N1, oneOf('off', 'on', 'always'))
d('lingering_time', HSL, N1, msec)
d('lingering_timeout', HSL, N1, msec)
d('open_file_cache', HSL, N12, acceptOnce)
d('open_file_cache_valid', HSL, N1, sec)
d('open_file_cache_min_uses', HSL, N1, num)
d('open_file_cache_errors', HSL, N1, flag)
d('aio', HSL, N1, acceptOnce)
d('directio', HSL, N1, acceptOnce)
d('output_buffers', HSL, N2, acceptOnce)
d('limit_rate', HSLI, N1, size)
d('limit_rate_after', HSLI, N1, size)
d('limit_req_zone', HTTP, [3, 4], list)
d('limit_req', HSL, N13, list)
d('limit_conn_zone', HTTP, N2, list)
d('limit_conn', HSL, N2, list)
d('gzip', HSLI, N1, flag)
d('gzip_types', HSL, N1M, acceptOnce)
d('gzip_min_length', HSL, N1, size)
d('gzip_comp_level', HSL, N1, num)
d('gzip_vary', HSL, N1, flag)
d('gzip_proxied', HSL, N1M, acceptOnce)
d('gzip_http_version', HSL, N1, oneOf('1.0', '1.1'))
d('gzip_disable', HSL, N1M, list)
d('gzip_buffers', HSL, N2, acceptOnce)
d('ssl', HS, N1, flag)
d('http2', HS, N1, flag)
r('ssl_certificate', HS, N1, first, httpSrv('sslCertificate', null))
r('ssl_certificate_key', HS, N1, first, httpSrv('sslCertificateKey', null))
d('ssl_protocols', HS, N1M, acceptOnce)
d('ssl_ciphers', HS, N1, str)
d('ssl_prefer_server_ciphers', HS, N1, flag)
d('ssl_session_cache', HS, N12, acceptOnce)
d('ssl_session_timeout', HS, N1, sec)
d('ssl_session_tickets', HS, N1, flag)
d('ssl_dhparam', HS, N1, str)
d('ssl_ecdh_curve', HS, N1, str)
d('ssl_stapling', HS, N1, flag)
d('ssl_trusted_certificate', HS, N1, str)

const ROOT = loc('root', 'html')
const ALIAS = loc('alias', null, 'own')
r('root', HSLI, N1, rootOrAlias(ALIAS), ROOT)
r('alias', HTTP_LOC, N1, rootOrAlias(ROOT), ALIAS)
r('index', HSL, N1M, list, loc('index', ['index.html']))
d('autoindex', HSL, N1, flag)
d('expires', HSLI, N12, acceptOnce)
r('add_header', HSLI, N23, addHeader, loc('addHeaders', []))
d('error_page', HSLI, N2M, list)
d('try_files', HTTP_SRV | HTTP_LOC, N2M, acceptOnce)
d('internal', HTTP_LOC, N0, acceptOnce)
d('allow', HSL | HTTP_LMT, N1, httpAccess)
d('deny', HSL | HTTP_LMT, N1, httpAccess)
d('auth_basic', HSL | HTTP_LMT, N1, str)
d('auth_basic_user_file', HSL | HTTP_LMT, N1, str)
d('stub_status', HTTP_SRV | HTTP_LOC, N01, acceptOnce)
d('mp4', HTTP_LOC, N0, acceptOnce)
d('flv', HTTP_LOC, N0, acceptOnce)
d('mp4_buffer_size', HSL, N1, size)
d('mp4_max_buffer_size', HSL, N1, size)

d('return', REWRITE, N12, list)
d('rewrite', REWRITE, N23, list)
d('set', REWRITE, N2, list)
d('break', REWRITE, N0, list)
d('rewrite_log', HTTP | REWRITE, N1, flag)
d('uninitialized_variable_warn', HTTP | REWRITE, N1, flag)

d('proxy_pass', HTTP_LOC | HTTP_LIF | HTTP_LMT, N1, str)
d('proxy_set_header', HSL, N2, list)
d('proxy_buffering', HSL, N1, flag)
d('proxy_request_buffering', HSL, N1, flag)
d('proxy_buffer_size', HSL, N1, size)
d('proxy_buffers', HSL, N2, acceptOnce)
d('proxy_busy_buffers_size', HSL, N1, size)
d('proxy_max_temp_file_size', HSL, N1, size)
d('proxy_http_version', HSL, N1, oneOf('1.0', '1.1'))
d('proxy_read_timeout', HSL, N1, msec)
d('proxy_connect_timeout', HSL, N1, msec)
d('proxy_send_timeout', HSL, N1, msec)
d('proxy_redirect', HSL, N12, list)
d('proxy_hide_header', HSL, N1, list)
d('proxy_pass_header', HSL, N1, list)
d('proxy_ignore_headers', HSL, N1M, acceptOnce)
d('proxy_intercept_errors', HSL, N1, flag)
d('proxy_next_upstream', HSL, N1M, acceptOnce)
d('proxy_cache', HSL, N1, str)
d('proxy_cache_path', HTTP, N2M, list)
d('proxy_cache_valid', HSL, N1M, list)
d('proxy_ssl_verify', HSL, N1, flag)

// upstream{}
d('server', HTTP_UPS, N1M, list)
d('hash', HTTP_UPS, N12, acceptOnce)
d('ip_hash', HTTP_UPS, N0, acceptOnce)
d('least_conn', HTTP_UPS, N0, acceptOnce)
d('keepalive', HTTP_UPS, N1, num)
d('keepalive_timeout', HTTP_UPS, N1, msec)
d('keepalive_requests', HTTP_UPS, N1, num)
d('zone', HTTP_UPS, N12, acceptOnce)

/** `location [=|~|~*|^~] uri` / `location @name` → "<modifier> <path>" */
function locationLabel(stmt: Statement): string {
  const [a, b] = stmt.args
  if (b !== undefined) {
    if (!['=', '~', '~*', '^~'].includes(a)) {
      throw new ConfError(at(stmt), `invalid location modifier "${a}"`, 'emerg', 'ERR_CONF_VALUE')
    }
    return `${a} ${b}`
  }
  if (a.startsWith('@')) return `@ ${a.slice(1)}`
  if (a.startsWith('=')) return `= ${a.slice(1)}`
  if (a.startsWith('~*')) return `~* ${a.slice(2)}`
  if (a.startsWith('~')) return `~ ${a.slice(1)}`
  return ` ${a}`
}

export const DIRECTIVES: ReadonlyMap<string, readonly Directive[]> = (() => {
  const map = new Map<string, Directive[]>()
  for (const r of rows) {
    const list = map.get(r.name)
    if (list === undefined) map.set(r.name, [r])
    else list.push(r)
  }
  return map
})()
