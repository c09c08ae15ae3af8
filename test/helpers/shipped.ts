// The shipped configuration as a user runs it (issue 12): `npm start`'s command line on
// conf/nginx.conf, with conf/ copied under a temporary prefix and the ports it names (RTMP
// 1935, HTTP 8080) replaced by ports picked free at run time.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { repoRoot } from './edge.js'
import { freePort, runningEdge, type LiveEdge } from './node.js'

/** The ports the shipped conf and the README name. */
export const SHIPPED_RTMP_PORT = 1935
export const SHIPPED_HTTP_PORT = 8080

/** `npm start` (package.json scripts.start) without its leading `node`: run from the repository root. */
export function npmStartArgs(): string[] {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  const [node, ...args] = pkg.scripts.start.split(/\s+/)
  if (node !== 'node') throw new Error(`scripts.start does not run node: ${pkg.scripts.start}`)
  return args
}

/** `text` with the shipped ports, as whole numbers, replaced (URLs, listen and flv_live lines). */
export function withPorts(text: string, rtmpPort: number, httpPort: number): string {
  return text.replaceAll(new RegExp(`\\b${SHIPPED_RTMP_PORT}\\b`, 'g'), String(rtmpPort))
    .replaceAll(new RegExp(`\\b${SHIPPED_HTTP_PORT}\\b`, 'g'), String(httpPort))
}

/**
 * `npm start`'s node on a copy of conf/ (and of the repository folders `folders`, e.g. html/ for
 * `root html`) under a temporary prefix (`-p`, so that its relative paths, the pid file among
 * them, stay there), ports replaced. Stopped in t's teardown.
 */
export async function startShippedEdge(t: Test, folders: readonly string[] = []): Promise<LiveEdge> {
  const rtmpPort = await freePort()
  const httpPort = await freePort()
  const prefix = mkdtempSync(join(tmpdir(), 'edge-shipped-'))
  for (const f of ['conf', ...folders]) cpSync(join(repoRoot, f), join(prefix, f), { recursive: true })
  const file = join(prefix, 'conf', 'nginx.conf')
  writeFileSync(file, withPorts(readFileSync(file, 'utf8'), rtmpPort, httpPort))
  const edge = await runningEdge([...npmStartArgs(), '-p', prefix], prefix)
  t.teardown(() => edge.stop())
  return { edge, rtmpPort, httpPort }
}
