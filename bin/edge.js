#!/usr/bin/env node
// Entry point: the compiled CLI (npm install / npm ci run `npm run build` via "prepare").
import { main } from '../dist/lib/cli.js'

const code = main(process.argv.slice(2))
if (code !== null) process.exitCode = code
