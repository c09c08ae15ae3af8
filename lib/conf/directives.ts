// The directive table: one row per directive PingOS accepts (pingos-behaviour.md §1), with
// the contexts it may appear in, its argument count, and the setter that parses its value.
// A name may have several rows (rtmp `listen` and http `listen`); the first row whose
// contexts include the current block is used, as ngx_conf_handler does.
import { ConfError } from '../core/errors.js'
import type { Statement } from './ast.js'
import {
  EVENTS, HTTP, HTTP_LIF, HTTP_LMT, HTTP_LOC, HTTP_SIF, HTTP_SRV, HTTP_UPS, MAIN, RTMP, RTMP_APP,
  RTMP_REC, RTMP_SRV, at, type ContextBit,
} from './scope.js'
import {
  accept, acceptOnce, addHeader, bitmask, errorLog, flag, flvLive, httpAccess, httpListen, list,
  liveHandlerOptions, locationHandler, msec, msecOrOff, notifyOnce, notifyRepeated, num, numAtMost,
  offset, oneOf, pull, push, resolver, rootOrAlias, rtmpAccess, rtmpListen, serverNames, size, str,
  types, workerProcesses, type Setter,
} from './setters.js'

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
  readonly set: Setter
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

function d(name: string, ctx: number, args: Arity, set: Setter, extra: Partial<Directive> = {}): void {
  rows.push({ name, ctx, args, set, runtime: false, ...extra })
}

/** A directive edge acts on at run time. */
function r(name: string, ctx: number, args: Arity, set: Setter, extra: Partial<Directive> = {}): void {
  d(name, ctx, args, set, { ...extra, runtime: true })
}

/** Structural blocks and include: the shape of the config, which edge always follows. */
const structural = r

// ---- main (nginx core, PingOS client/toolkit modules; §1.2) ---------------------------------
structural('include', ALL_CONTEXTS, N1, accept, {})
d('user', MAIN, N12, acceptOnce)
r('daemon', MAIN, N1, flag)
d('master_process', MAIN, N1, flag)
d('worker_processes', MAIN, N1, workerProcesses)
d('worker_rlimit_nofile', MAIN, N1, num)
d('worker_rlimit_core', MAIN, N1, offset)
d('worker_priority', MAIN, N1, str)
d('worker_cpu_affinity', MAIN, N1M, acceptOnce)
d('worker_shutdown_timeout', MAIN, N1, msec)
d('working_directory', MAIN, N1, str)
r('error_log', MAIN | HSL, N1M, errorLog)
r('pid', MAIN, N1, str)
d('lock_file', MAIN, N1, str)
d('env', MAIN, N1, list)
d('load_module', MAIN, N1, list)
d('pcre_jit', MAIN, N1, flag)
d('timer_resolution', MAIN, N1, msec)
d('thread_pool', MAIN, N2M, list)
d('ssl_engine', MAIN, N1, str)
d('debug_points', MAIN, N1, oneOf('stop', 'abort'))
structural('events', MAIN, N0, acceptOnce, { block: EVENTS })
structural('http', MAIN, N0, acceptOnce, { block: HTTP })
structural('rtmp', MAIN, N0, acceptOnce, { block: RTMP })
d('stream_zone', MAIN, N2, acceptOnce)
d('dynamic_conf', MAIN, N2, acceptOnce)
d('dynamic_log', MAIN, N12, acceptOnce)
d('stream_buckets', MAIN, N1, num)
d('server_buckets', MAIN, N1, num)
d('max_idle_client', MAIN, N1, num)
d('keepalive', MAIN, N1, msec)
r('connect_timeout', MAIN, N1, msec)
d('send_timeout', MAIN, N1, msec)
d('postpone_output', MAIN | HSL, N1, size)
d('dynamic_resolver', MAIN, N1, flag)
r('tcp_nodelay', MAIN | HSL | RSA, N1, flag)
d('tcp_nopush', MAIN | HSL, N1, flag)
d('header_timeout', MAIN, N1, msec)
d('header_buffer_size', MAIN, N1, size)
d('body_buffer_size', MAIN, N1, size)

// ---- events{} (§1.3) -----------------------------------------------------------------------
d('use', EVENTS, N1, str)
r('worker_connections', EVENTS, N1, num)
d('multi_accept', EVENTS, N1, flag)
d('accept_mutex', EVENTS, N1, flag)
d('accept_mutex_delay', EVENTS, N1, msec)
d('debug_connection', EVENTS, N1, list)
d('worker_aio_requests', EVENTS, N1, num)
d('multi_listen', EVENTS, N2, list)
r('resolver', EVENTS, N1M, resolver)
r('resolver_timeout', EVENTS, N1, msec)
d('resolver', HSL, N1M, resolver)
d('resolver_timeout', HSL, N1, msec)
d('dynamic_refresh_interval', EVENTS, N1, msec)
d('dynamic_domain_buckets', EVENTS, N1, num)
d('worker_timers', EVENTS, N1, num)

// ---- rtmp{} only (§1.4) ----------------------------------------------------------------------
structural('server', RTMP, N0, accept, { block: RTMP_SRV })
d('server_names_hash_max_size', RTMP | HTTP, N1, num)
d('server_names_hash_bucket_size', RTMP | HTTP, N1, num)
d('fast_reload', RTMP, N1, flag)
d('log_format', RTMP | HTTP, N2M, list)
d('access_log', RSA | HSL | HTTP_LIF | HTTP_LMT, N13, list)
for (const name of ['on_proc', 'oclp_proc', 'on_master']) r(name, RTMP, N1M, notifyOnce)
d('static_pull_port', RTMP, N1, str)
d('max_connections', RSA, N1, num)

// ---- rtmp server{} (§1.5) --------------------------------------------------------------------
r('listen', RTMP_SRV, N12, rtmpListen)
r('server_name', RTMP_SRV, N1M, serverNames)
r('serverid', RTMP_SRV, N1, str)
structural('application', RTMP_SRV, N1, accept, { block: RTMP_APP })
r('timeout', RS, N1, msec)
r('ping', RS, N1, msec)
r('ping_timeout', RS, N1, msec)
d('busy', RS, N1, flag)
r('max_streams', RS, N1, num)
r('ack_window', RS, N1, num)
r('chunk_size', RS, N1, num)
r('max_message', RS, N1, size)
r('out_queue', RS, N1, num)
d('out_cork', RS, N1, num)
d('buflen', RS, N1, msec)
d('play_time_fix', RSA, N1, flag)
r('publish_time_fix', RSA, N1, flag)
d('so_keepalive', RS, N1, flag)
r('merge_frame', RSA, N1, numAtMost(64, 'the merge_frame must be no larger than 64'))
r('hevc_codecid', RSA, N1, num)
r('merge_time', RSA, N1, msec)
d('on_connect', RTMP_SRV, N1M, notifyOnce)
d('oclp_connect', RTMP_SRV, N1M, notifyOnce)

// ---- application (§1.6): live, GOP cache ------------------------------------------------------
r('live', RSA, N1, flag)
r('idle_streams', RSA, N1, flag)
r('wait_key', RSA, N1, flag)
r('wait_video', RSA, N1, flag)
d('sync', RSA, N1, msecOrOff)
d('interleave', RSA, N1, flag)
d('buffer', RSA, N1, msec)
d('publish_notify', RSA, N1, flag)
d('play_restart', RSA, N1, flag)
d('drop_idle_publisher', RSA, N1, msecOrOff)
r('cache_time', RSA, N1, msec)
r('send_all', RSA, N1, flag)
r('low_latency', RSA, N1, flag)
d('fix_timestamp', RSA, N1, msec)
d('zero_start', RSA, N1, flag)
r('meta', RSA, N1, oneOf('on', 'copy', 'off'))

// relay
r('pull', RTMP_APP, N1M, pull)
d('push', RTMP_APP, N1M, push)
r('relay_reconnect', RSA, N1, msec)
r('failed_reconnect', RSA, N1, msec)
r('relay_buffer', RSA, N1, msec)
d('rtmp_auto_pull', RSA, N1, flag)
d('rtmp_auto_pull_port', RSA, N1, str)

// notifications
r('on_pull', RTMP_APP, N1M, notifyOnce)
r('oclp_pull', RTMP_APP, N1M, notifyOnce)
for (const e of ['play', 'publish', 'stream']) {
  r(`on_${e}`, RTMP_APP, N1M, notifyOnce)
  r(`oclp_${e}`, RTMP_APP, N1M, notifyOnce)
}
// on_record is sent by live_record (issue 11)
d('on_record', RTMP_APP, N1M, notifyOnce)
d('oclp_record', RTMP_APP, N1M, notifyOnce)
d('on_push', RTMP_APP, N1M, notifyRepeated)
d('oclp_push', RTMP_APP, N1M, notifyRepeated)
r('on_meta', RTMP_APP, N1M, notifyRepeated)
r('oclp_meta', RTMP_APP, N1M, notifyRepeated)
r('on_meta_once', RSA, N1, flag)
r('oclp_meta_once', RSA, N1, flag)
r('on_meta_type', RSA, N1, oneOf('video', 'audio', 'both'))
r('oclp_meta_type', RSA, N1, oneOf('video', 'audio', 'both'))
r('ignore_invalid_notify', RSA, N1, flag)

// access
r('allow', RSA, N12, rtmpAccess)
r('deny', RSA, N12, rtmpAccess)

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
d('record_max_frames', RSAR, N1, num)
d('record_interval', RSAR, N1, msec)
d('record_notify', RSAR, N1, flag)
d('recorder', RTMP_APP, N1, accept, { block: RTMP_REC })

// exec
for (const name of ['exec', 'exec_push', 'exec_pull', 'exec_publish', 'exec_publish_done', 'exec_play',
  'exec_play_done']) d(name, RSA, N1M, list)
d('exec_record_done', RSAR, N1M, list)
d('exec_static', RTMP_APP, N1M, list)
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
d('mpegts_roll_back', RSA, N1, acceptOnce)
d('mpegts_one_off_send', RSA, N1, flag)
d('mpegts_low_latency', RSA, N1, flag)
d('mpegts_send_all', RSA, N1, flag)
d('mpegts_fix_timestamp', RSA, N1, msec)
d('mpegts_zero_start', RSA, N1, flag)
d('mpegts_audio_buffer_size', RSA, N1, size)
d('mpegts_sync', RSA, N1, msec)
d('mpegts_audio_delay', RSA, N1, msec)
d('mpegts_out_queue', RSA, N1, num)
d('dump', RSA, N1, acceptOnce)
d('buffered_log', RSA, N1, acceptOnce)

// ---- http{} (PingOS modules §1.7 and the stock nginx directives of §1.8) ---------------------
structural('server', HTTP, N0, accept, { block: HTTP_SRV })
r('listen', HTTP_SRV, N1M, httpListen)
r('server_name', HTTP_SRV, N1M, serverNames)
structural('location', HTTP_SRV | HTTP_LOC, N12, accept, { block: HTTP_LOC, label: locationLabel })
structural('types', HSL, N0, types, { block: 'free' })
d('upstream', HTTP, N1, accept, { block: HTTP_UPS })
d('map', HTTP, N2, accept, { block: 'free' })
d('geo', HTTP, N12, accept, { block: 'free' })
d('split_clients', HTTP, N2, accept, { block: 'free' })
d('if', HTTP_SRV | HTTP_LOC, N1M, accept, { block: (parent) => (parent === HTTP_SRV ? HTTP_SIF : HTTP_LIF) })
d('limit_except', HTTP_LOC, N1M, accept, { block: HTTP_LMT })

r('flv_live', HTTP_LOC, N13, flvLive)
d('ts_live', HTTP_LOC, N12, liveHandlerOptions('app'))
d('hls2_live', HTTP_LOC, [1, 6], liveHandlerOptions('app', 'flashver', 'swf_url', 'tc_url', 'page_url'))
d('rtmp_stat', HSL, N1M, locationHandler('rtmp_stat', bitmask('all', 'global', 'live', 'clients')))
d('rtmp_stat_stylesheet', HSL, N1, str)
d('rtmp_control', HSL, N1M, locationHandler('rtmp_control', bitmask('all', 'record', 'drop', 'redirect', 'pause', 'resume')))
d('sys_stat', HTTP_LOC, N0, locationHandler('sys_stat'))
d('broadcast', HTTP_LOC, N2, locationHandler('unsupported'))
d('broadcast_rewrite_prefix', HTTP_LOC, N2, acceptOnce)
d('broadcast_suffix', HTTP_LOC, N1, acceptOnce)
d('inner_proxy', HSL, N2, acceptOnce)
d('http_trace', HTTP, N0, acceptOnce)

r('default_type', HSL, N1, str)
d('sendfile', HSLI, N1, flag)
d('sendfile_max_chunk', HSL, N1, size)
d('keepalive_timeout', HSL, N12, acceptOnce)
d('keepalive_requests', HSL, N1, num)
d('send_timeout', HSL, N1, msec)
d('client_max_body_size', HSL, N1, offset)
d('client_body_timeout', HSL, N1, msec)
d('client_body_buffer_size', HSL, N1, size)
d('client_header_timeout', HS, N1, msec)
d('client_header_buffer_size', HS, N1, size)
d('large_client_header_buffers', HS, N2, acceptOnce)
d('server_tokens', HSL, N1, acceptOnce)
r('chunked_transfer_encoding', HSL, N1, flag)
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
d('open_file_cache_valid', HSL, N1, msec)
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
r('ssl_certificate', HS, N1, list)
r('ssl_certificate_key', HS, N1, list)
d('ssl_protocols', HS, N1M, acceptOnce)
d('ssl_ciphers', HS, N1, str)
d('ssl_prefer_server_ciphers', HS, N1, flag)
d('ssl_session_cache', HS, N12, acceptOnce)
d('ssl_session_timeout', HS, N1, msec)
d('ssl_session_tickets', HS, N1, flag)
d('ssl_dhparam', HS, N1, str)
d('ssl_ecdh_curve', HS, N1, str)
d('ssl_stapling', HS, N1, flag)
d('ssl_trusted_certificate', HS, N1, str)

r('root', HSLI, N1, rootOrAlias)
r('alias', HTTP_LOC, N1, rootOrAlias)
r('index', HSL, N1M, list)
d('autoindex', HSL, N1, flag)
d('expires', HSLI, N12, acceptOnce)
r('add_header', HSLI, N23, addHeader)
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
