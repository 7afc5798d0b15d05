import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, defaultValidationThreads, loadConfig } from '../src/config.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('numbers from the environment are read, and unset ones get their defaults', () => {
  const defaults = loadConfig({});
  assert.equal(defaults.port, 8080);
  assert.equal(defaults.maxBodyBytes, 32 * 1024 * 1024);
  assert.equal(defaults.seedPersons, 2000);
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://x/y' }).seedPersons, 0);
  assert.equal(defaults.validationThreads, defaultValidationThreads(os.availableParallelism()));
  // Threads only on the cores beside the event loop's and PostgreSQL's; at most four.
  assert.deepEqual([1, 2, 3, 4, 8, 64].map(defaultValidationThreads), [0, 0, 1, 2, 4, 4]);
  const set = loadConfig({ PORT: '9090', VALIDATION_THREADS: '0', SEED_PERSONS: '10', RATE_LIMIT_PER_MINUTE: '0', MAX_BODY_BYTES: '1024', DOCUMENT_MAX_BYTES: '2048' });
  assert.deepEqual(
    [set.port, set.validationThreads, set.seedPersons, set.rateLimitPerMinute, set.maxBodyBytes, set.documentMaxBytes],
    [9090, 0, 10, 0, 1024, 2048]
  );
});

test('a malformed number is refused, naming the variable, instead of running with NaN', () => {
  for (const name of ['PORT', 'MAX_BODY_BYTES', 'SEED_PERSONS', 'DOCUMENT_MAX_BYTES', 'RATE_LIMIT_PER_MINUTE', 'VALIDATION_THREADS']) {
    for (const value of ['two', '-1', '1.5', '4k']) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (err: Error) => err instanceof ConfigError && err.message.includes(name) && err.message.includes(JSON.stringify(value)),
        `${name}=${value}`
      );
    }
  }
});

test('npm start with a malformed setting exits with the message and status 2', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/start.ts'], {
    cwd: ROOT,
    env: { ...process.env, VALIDATION_THREADS: 'two', DATA_DIR: path.join(os.tmpdir(), 'samhandling-config-test-unused') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /VALIDATION_THREADS must be a whole number \(0 or more\), got "two"/);
  assert.doesNotMatch(run.stderr, /at loadConfig/, 'a message, not a stack trace');
});
