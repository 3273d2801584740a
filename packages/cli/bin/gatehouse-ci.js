#!/usr/bin/env node
// @ts-check
import process from 'node:process';
import { run } from '../lib/main.js';

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
process.exit(code);
