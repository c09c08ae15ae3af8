// README's "Try it" (issue 12): with nothing but what the README installs, its commands take a
// fresh node to a stream that ffprobe reads over RTMP and over HTTP-FLV. The test runs the
// README's own block: `npm start`'s command line on the shipped conf, every ffmpeg line (the
// test-pattern publish), then every ffprobe line, with the ports 1935 and 8080 of the conf and
// of every URL replaced by ports picked free at run time.
//
// The block it reads: the first fenced code block after a `## Try it` heading. Each line is a
// shell command line (a trailing `\` continues it; `#` starts a comment; `&&`, `;`, `|` and a
// trailing `&` separate commands; `sudo` is dropped). It must hold `npm start`, at least one
// `ffmpeg` command, and `ffprobe` commands reading an rtmp:// and an http:// URL; other
// commands (installing packages) are not run.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ffmpegMissing } from '../helpers/cluster.js'
import { repoRoot, runProcess } from '../helpers/edge.js'
import { FFPROBE_TIMEOUT_MS } from '../helpers/pull-scenarios.js'
import { startShippedEdge, withPorts } from '../helpers/shipped.js'

/** The "Try it" block's lines, continuations joined; throws when the README has none. */
function tryItLines(readme: string): string[] {
  const lines = readme.split('\n')
  const heading = lines.findIndex((l) => /^#{2,}\s+Try it\s*$/i.test(l))
  const open = lines.findIndex((l, i) => heading !== -1 && i > heading && /^\s*```/.test(l))
  const close = lines.findIndex((l, i) => open !== -1 && i > open && /^\s*```\s*$/.test(l))
  if (close === -1) throw new Error('README.md has no fenced code block under a "## Try it" heading')
  return lines.slice(open + 1, close).join('\n').replace(/\\\n/g, ' ').split('\n')
}

/**
 * A command line as the words of each command, split as sh splits the simple lines a README
 * holds: blanks, single and double quotes, backslash escapes, `#` comments, and the operators
 * `&&`, `||`, `;`, `|`, `&` between commands.
 */
function shellCommands(line: string): string[][] {
  const commands: string[][] = [[]]
  let word: string | null = null
  const endWord = (): void => {
    if (word !== null) commands[commands.length - 1].push(word)
    word = null
  }
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1)
      if (end === -1) throw new Error(`unterminated quote in: ${line}`)
      word = (word ?? '') + line.slice(i + 1, end)
      i = end
    } else if (c === '\\') {
      word = (word ?? '') + (line[i + 1] ?? '')
      i++
    } else if (c === '#' && word === null) {
      break
    } else if (c === '&' || c === ';' || c === '|') {
      endWord()
      if (line[i + 1] === c) i++
      commands.push([])
    } else if (/\s/.test(c)) {
      endWord()
    } else {
      word = (word ?? '') + c
    }
  }
  endWord()
  return commands.map((c) => (c[0] === 'sudo' ? c.slice(1) : c)).filter((c) => c.length > 0)
}

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
const commands = tryItLines(readme).flatMap(shellCommands)
const publishes = commands.filter((c) => c[0] === 'ffmpeg')
const probes = commands.filter((c) => c[0] === 'ffprobe')

t.test('the block starts the node, publishes with ffmpeg and probes RTMP and HTTP-FLV', async (t) => {
  t.ok(commands.some((c) => c[0] === 'npm' && c.includes('start')), 'npm start')
  t.ok(publishes.length > 0, 'an ffmpeg publish')
  t.ok(probes.some((c) => c.some((w) => w.startsWith('rtmp://'))), 'an ffprobe of an rtmp:// URL')
  t.ok(probes.some((c) => c.some((w) => w.startsWith('http://'))), 'an ffprobe of an http:// URL')
})

t.test('run on free ports, the commands give ffprobe the published H.264 and AAC', { skip: ffmpegMissing() }, async (t) => {
  const { rtmpPort, httpPort } = await startShippedEdge(t)
  const localized = (c: string[]): string[] => c.slice(1).map((w) => withPorts(w, rtmpPort, httpPort))
  for (const c of publishes) {
    const child: ChildProcess = spawn(c[0], localized(c), { stdio: 'ignore' })
    const exited = once(child, 'exit')
    t.teardown(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exited
      }
    })
  }
  // the picture size the publish asks for (testsrc=size=WxH), checked in what ffprobe reports
  const size = /size=(\d+)x(\d+)/.exec(publishes.flat().join(' '))
  for (const c of probes) {
    const r = await runProcess(c[0], localized(c), { timeoutMs: FFPROBE_TIMEOUT_MS })
    const what = c.find((w) => /^\w+:\/\//.test(w)) ?? c.join(' ')
    t.equal(r.code, 0, `${what}: ffprobe exits 0 ${r.stderr}`)
    t.match(r.stdout, /h264/, `${what}: h264`)
    t.match(r.stdout, /aac/, `${what}: aac`)
    if (size !== null) {
      t.match(r.stdout, new RegExp(`width\\D{1,3}${size[1]}\\b`), `${what}: width ${size[1]}`)
      t.match(r.stdout, new RegExp(`height\\D{1,3}${size[2]}\\b`), `${what}: height ${size[2]}`)
    }
  }
})
