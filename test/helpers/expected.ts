// Values a PingOS client sees with edge's own name in them (edge sends `Server: edge/<version>`
// and `onMetaData.Server` "edge/<version>" where PingOS sends nginx/1.17.5 and "PingOS (...)").
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from './edge.js'

const VERSION = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version

/** `Server` header, error-page footer and onMetaData `Server` value: edge/<package version> */
export const SERVER_NAME = `edge/${VERSION}`

/**
 * nginx's standard error page (observed §1.2: 153 bytes for 404 with nginx/1.17.5), with
 * edge's name in the footer.
 */
export function errorPage(status: string): string {
  return `<html>\r\n<head><title>${status}</title></head>\r\n<body>\r\n<center><h1>${status}</h1></center>\r\n<hr><center>${SERVER_NAME}</center>\r\n</body>\r\n</html>\r\n`
}
