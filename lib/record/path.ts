// Recording file names as nginx-rtmp makes them (ngx_rtmp_record_make_path, observed §16):
//   <record_path>/<name>[-<unix seconds at open>]<strftime(record_suffix)>
import type { RecordConf } from '../conf/tree.js'

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0')
}

/** strftime(3) in local time, for the conversions a record_suffix uses; others stay as written. */
export function strftime(format: string, d: Date): string {
  return format.replace(/%([a-zA-Z%])/g, (all, c: string) => {
    switch (c) {
      case 'Y': return String(d.getFullYear())
      case 'y': return pad(d.getFullYear() % 100)
      case 'm': return pad(d.getMonth() + 1)
      case 'd': return pad(d.getDate())
      case 'H': return pad(d.getHours())
      case 'M': return pad(d.getMinutes())
      case 'S': return pad(d.getSeconds())
      case 's': return String(Math.floor(d.getTime() / 1000))
      case 'F': return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
      case 'T': return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
      case '%': return '%'
      default: return all
    }
  })
}

/** The path of a recording of stream `name` opened at `now`. */
export function recordFilePath(conf: RecordConf, name: string, now: Date): string {
  const unique = conf.recordUnique ? `-${Math.floor(now.getTime() / 1000)}` : ''
  return `${conf.recordPath}/${name}${unique}${strftime(conf.recordSuffix, now)}`
}
