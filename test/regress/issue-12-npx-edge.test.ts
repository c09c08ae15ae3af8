// Issue 12, first run: `npm ci` puts no `edge` on the PATH (npm links a project's own bin only
// when the project is installed elsewhere), so the README runs the command line as `npx edge`:
// from the repository, npm (≥ 9) runs the project's own bin. The test runs what a user types,
// from the repository root; `--no-install` and offline npm keep it from ever fetching the
// registry's unrelated package called `edge` should npm stop resolving the local bin.
import t from 'tap'
import { VERSION } from '../../lib/cli.js'
import { repoRoot, runProcess } from '../helpers/edge.js'

/** npm as a user runs it, minus anything that would reach the network */
const NPM_ENV = { npm_config_offline: 'true', npm_config_update_notifier: 'false' }
/** bound on one npx run (npm loads itself and links the project into its cache) */
const NPX_TIMEOUT_MS = 60_000

t.test('npx edge -v prints the version, exit 0', async (t) => {
  const r = await runProcess('npx', ['--no-install', 'edge', '-v'], { cwd: repoRoot, env: NPM_ENV, timeoutMs: NPX_TIMEOUT_MS })
  t.equal(r.stderr, `edge version: edge/${VERSION}\n`)
  t.equal(r.stdout, '')
  t.equal(r.code, 0)
})

t.test('npx edge -t checks conf/nginx.conf under the current directory, as nginx -t does', async (t) => {
  const r = await runProcess('npx', ['--no-install', 'edge', '-t'], { cwd: repoRoot, env: NPM_ENV, timeoutMs: NPX_TIMEOUT_MS })
  const conf = `${repoRoot}/conf/nginx.conf`
  t.match(r.stderr, `edge: the configuration file ${conf} syntax is ok\nedge: configuration file ${conf} test is successful\n`)
  t.equal(r.code, 0)
})
