// Response heads and nginx's standard error pages, byte for byte as nginx writes them, with
// the product's own name in Server and in the page footer (compatibility policy).
import type { AddHeader } from '../conf/tree.js'

export const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  304: 'Not Modified',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Not Allowed',
  408: 'Request Time-out',
  414: 'Request-URI Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
}

/** add_header applies to these statuses unless marked `always` (ngx_http_headers_filter). */
const ADD_HEADER_STATUSES = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308])

export function httpDate(d = new Date()): string {
  return d.toUTCString()
}

export type HeaderList = readonly (readonly [string, string])[]

export function responseHead(status: number, serverName: string, headers: HeaderList, addHeaders: readonly AddHeader[]): Buffer {
  let s = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Unknown'}\r\nServer: ${serverName}\r\nDate: ${httpDate()}\r\n`
  for (const [k, v] of headers) s += `${k}: ${v}\r\n`
  for (const h of addHeaders) if (h.always || ADD_HEADER_STATUSES.has(status)) s += `${h.name}: ${h.value}\r\n`
  return Buffer.from(s + '\r\n', 'latin1')
}

/** nginx's 494: sent as 400, its page naming the reason under the status. */
export const HEADER_TOO_LARGE = 'Request Header Or Cookie Too Large'

/** nginx's built-in error page for `status`; `reason` adds nginx's second line (494). */
export function errorPage(status: number, serverName: string, reason?: string): Buffer {
  const text = `${status} ${STATUS_TEXT[status] ?? 'Unknown'}`
  const title = reason === undefined ? text : `${status} ${reason}`
  const extra = reason === undefined ? '' : `<center>${reason}</center>\r\n`
  return Buffer.from(`<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${text}</h1></center>\r\n` +
    `${extra}<hr><center>${serverName}</center>\r\n</body>\r\n</html>\r\n`, 'latin1')
}

/** The headers the flv_live module sets on every response, errors included (§8.4). */
export const FLV_CORS_HEADERS: HeaderList = [
  ['Cache-Control', 'no-cache'],
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Credentials', '*'],
  ['Access-Control-Expose-Headers', '*'],
  ['Access-Control-Allow-Headers', 'Content-Type,Access-Token'],
]
