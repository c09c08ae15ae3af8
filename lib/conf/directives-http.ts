// The http{} rows of the directive table: PingOS's http modules (§1.7) and the stock nginx
// directives its sample configs use (§1.8).
import { at, HTTP, HTTP_LIF, HTTP_LMT, HTTP_LOC, HTTP_SIF, HTTP_SRV, HTTP_UPS } from './scope.js'
import {
  accept, acceptOnce, first, flag, httpAccess, list, msec, num, offset, oneOf, sec, serverNames, size, str,
} from './setters.js'
import {
  addHeader, flvLive, httpListen, liveHandlerOptions, locationHandler, rootOrAlias, types,
} from './http-setters.js'
import {
  d, HS, HSL, HSLI, httpSrv, loc, N0, N01, N1, N12, N13, N1M, N2, N23, N2M, r, REWRITE, structural,
} from './directive-rows.js'
import { ConfError } from '../core/errors.js'
import type { Statement } from './ast.js'

/** Write the http{} rows (after the main, events and rtmp ones: a name's first matching row wins). */
export function httpDirectives(): void {
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
  r('rtmp_stat', HSL, N1M, locationHandler('rtmp_stat', ['all', 'global', 'live', 'clients']), HANDLER)
  r('rtmp_stat_stylesheet', HSL, N1, str, loc('rtmpStatStylesheet', null))
  // nginx-http-flv-module's: the same stats as JSON (edge's own here, docs/compat.md)
  r('rtmp_stat_format', HSL, N1, oneOf('xml', 'json'), loc('rtmpStatFormat', 'xml'))
  r('rtmp_control', HSL, N1M, locationHandler('rtmp_control', ['all', 'record', 'drop', 'redirect', 'pause', 'resume']), HANDLER)
  r('sys_stat', HTTP_LOC, N0, locationHandler('sys_stat'), HANDLER)
  // edge's own: Prometheus metrics (docs/compat.md)
  r('edge_metrics', HTTP_LOC, N0, locationHandler('edge_metrics'), HANDLER)
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
  // ngx_http_access_module: the rules of the innermost level that has some, in order; inside
  // limit_except they are checked and not acted on (named in the start-up [warn])
  const ACCESS = loc('access', [])
  r('allow', HSL, N1, httpAccess, ACCESS)
  r('deny', HSL, N1, httpAccess, ACCESS)
  d('allow', HTTP_LMT, N1, httpAccess)
  d('deny', HTTP_LMT, N1, httpAccess)
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
}

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

