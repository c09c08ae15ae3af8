// Recording file names as nginx-rtmp makes them (ngx_rtmp_record_make_path, observed §16):
//   <record_path>/<escaped name>[-<unix seconds at open>]<strftime(record_suffix)>
import type { RecordConf } from '../conf/tree.js'

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October',
  'November', 'December']

function pad(n: number, width = 2, fill = '0'): string {
  return String(n).padStart(width, fill)
}

/** day of the year, 1..366, in local time */
function dayOfYear(d: Date): number {
  return Math.round((new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() - new Date(d.getFullYear(), 0, 1).getTime()) / 86_400_000) + 1
}

/** %Z: the local zone's abbreviation (CET, UTC), or its offset where the runtime knows no name */
function zoneName(d: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')
  return part?.value ?? ''
}

/**
 * strftime(3) in local time (the C locale), for the conversions record_suffix is written with:
 * %a %A %b %B %d %e %F %H %I %j %m %M %p %s %S %T %y %Y %Z %%; others stay as written.
 */
export function strftime(format: string, d: Date): string {
  return format.replace(/%([a-zA-Z%])/g, (all, c: string) => {
    switch (c) {
      case 'a': return DAYS[d.getDay()].slice(0, 3)
      case 'A': return DAYS[d.getDay()]
      case 'b': return MONTHS[d.getMonth()].slice(0, 3)
      case 'B': return MONTHS[d.getMonth()]
      case 'd': return pad(d.getDate())
      case 'e': return pad(d.getDate(), 2, ' ')
      case 'F': return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
      case 'H': return pad(d.getHours())
      case 'I': return pad(d.getHours() % 12 === 0 ? 12 : d.getHours() % 12)
      case 'j': return pad(dayOfYear(d), 3)
      case 'm': return pad(d.getMonth() + 1)
      case 'M': return pad(d.getMinutes())
      case 'p': return d.getHours() < 12 ? 'AM' : 'PM'
      case 's': return String(Math.floor(d.getTime() / 1000))
      case 'S': return pad(d.getSeconds())
      case 'T': return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
      case 'y': return pad(d.getFullYear() % 100)
      case 'Y': return String(d.getFullYear())
      case 'Z': return zoneName(d)
      case '%': return '%'
      default: return all
    }
  })
}

/** bytes a file name keeps as they are (RFC 3986 unreserved); ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT) */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/

/**
 * The stream name as a file name: each UTF-8 byte outside [A-Za-z0-9-._~] becomes %XX, as
 * nginx-rtmp escapes it, so `/`, `..` through a slash, and NUL never reach the file system
 * (`a/b` → `a%2Fb`, `a b` → `a%20b`).
 */
export function escapeName(name: string): string {
  let out = ''
  for (const byte of Buffer.from(name, 'utf8')) {
    const ch = String.fromCharCode(byte)
    out += UNRESERVED.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** The path of a recording of stream `name` opened at `now`. */
export function recordFilePath(conf: RecordConf, name: string, now: Date): string {
  const unique = conf.recordUnique ? `-${Math.floor(now.getTime() / 1000)}` : ''
  return `${conf.recordPath}/${escapeName(name)}${unique}${strftime(conf.recordSuffix, now)}`
}
