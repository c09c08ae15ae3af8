// The servers the load benchmark starts on 127.0.0.1, each on ports picked free at run time
// and pinned to one CPU: edge (this repository's bin/edge.js) and Debian's nginx-rtmp.
import type { ChildProcess } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from '../../test/helpers/node.js'
import { spawnPinned } from './children.js'
import { root } from './media.js'
import { waitForPort } from './proc.js'

const edgeBin = join(root, 'bin', 'edge.js')
const NGINX = '/usr/sbin/nginx'
const NGINX_RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so'
/** every server of the run may hold the largest step (nginx and edge refuse past worker_connections) */
const WORKER_CONNECTIONS = 'events { worker_connections 16000; }'

/** Why nginx-rtmp cannot run here, or false when it can. */
export function nginxMissing(): string | false {
  const absent = [NGINX, NGINX_RTMP_MODULE].filter((p) => !existsSync(p))
  return absent.length === 0 ? false : `not installed: ${absent.join(', ')}`
}

/** nginx-rtmp with `application live { live on; }`, one process (no master), files in `dir`. */
export async function startNginx(dir: string, cpu: string): Promise<{ proc: ChildProcess, rtmpPort: number }> {
  const rtmpPort = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), [
    `pid ${join(dir, 'nginx.pid')};`,
    `load_module ${NGINX_RTMP_MODULE};`,
    `error_log ${join(dir, 'nginx-error.log')} warn;`,
    'worker_rlimit_nofile 20000;',
    WORKER_CONNECTIONS,
    `rtmp { server { listen 127.0.0.1:${rtmpPort}; application live { live on; } } }`,
    '',
  ].join('\n'))
  const proc = spawnPinned(cpu, NGINX,
    ['-p', dir, '-e', join(dir, 'nginx-error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off; master_process off;'], dir, 'nginx')
  await waitForPort(rtmpPort, proc, 'nginx-rtmp')
  return { proc, rtmpPort }
}

/**
 * edge with `application live { live on; <appBody> }` and HTTP-FLV on /live, files in `dir`.
 * The load benchmark runs it as shipped for an edge node: appBody `cache_time 1s;` and more.
 */
export async function startEdge(dir: string, cpu: string, appBody: string): Promise<{ proc: ChildProcess, rtmpPort: number, httpPort: number }> {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()]
  const conf = join(dir, 'edge.conf')
  writeFileSync(conf, `daemon off;\nerror_log stderr warn;\npid ${join(dir, 'edge.pid')};\n${WORKER_CONNECTIONS}\n` +
    `rtmp { server { listen ${rtmpPort}; application live { live on;${appBody === '' ? '' : ` ${appBody}`} } } }\n` +
    `http { server { listen ${httpPort}; location /live { flv_live ${rtmpPort}; } } }\n`)
  const proc = spawnPinned(cpu, process.execPath, [edgeBin, '-c', conf], dir, 'edge')
  await waitForPort(rtmpPort, proc, 'edge')
  await waitForPort(httpPort, proc, 'edge')
  return { proc, rtmpPort, httpPort }
}
