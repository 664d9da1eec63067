// Shared by the MCP SDK tests: where warden is, private directories, what a warden left behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import http from 'node:http';

export const WARDEN = process.env.WARDEN_BINARY;
if (!WARDEN) {
  console.error('WARDEN_BINARY is not set: run this test through ctest (ctest -R mcp_sdk)');
  process.exit(1);
}

export function privateDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// Resolves once `check` returns a truthy value (polled every 20 ms); rejects after `ms`.
export async function waitFor(what, check, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Pids of host processes whose command line contains `marker`.
export function processesWith(marker) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(marker)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

// Cgroup directories named after supervisor `pid` ("run-<pid>-<n>") anywhere under /sys/fs/cgroup.
export function cgroupsOf(pid) {
  const found = [];
  const walk = (dir, depth) => {
    if (depth > 7) return;
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const full = path.join(dir, entry.name);
      if (entry.name.includes(`-${pid}-`)) found.push(full);
      walk(full, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

export function mountsMentioning(text) {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(text));
}

// Starts `warden serve` on a private data directory with `keys` (WARDEN_API_KEYS); resolves to
// { url, stop } once it listens.
export async function startServe(keys, config = '') {
  const dir = privateDir('warden-mcp-serve-');
  fs.mkdirSync(path.join(dir, 'home'));
  fs.writeFileSync(path.join(dir, 'config.toml'), config);
  const child = spawn(WARDEN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data')], {
    env: { PATH: process.env.PATH, HOME: path.join(dir, 'home'), WARDEN_API_KEYS: keys,
           WARDEN_CONFIG: path.join(dir, 'config.toml') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^ ]+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`warden serve exited ${code}: ${stderr}`)));
  });
  const stop = async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.on('exit', resolve)));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { url: `${url}/mcp`, stop, dataDir: path.join(dir, 'data') };
}

// A scripted LLM on loopback speaking OpenAI chat completions (not streamed): each request gets
// the next reply of `replies` ({text} or {tool, args}); the last one is repeated. `script(more)`
// starts over with other replies.
export async function startFakeLlm(replies) {
  let next = 0;
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (d) => { body += d; });
    request.on('end', () => {
      const reply = replies[Math.min(next++, replies.length - 1)];
      const message = { role: 'assistant', content: reply.text ?? null };
      if (reply.tool) {
        message.tool_calls = [{ id: `call_${next}`, type: 'function',
          function: { name: reply.tool, arguments: JSON.stringify(reply.args) } }];
      }
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ id: `chat_${next}`, object: 'chat.completion', model: 'fake-model',
        choices: [{ index: 0, message, finish_reason: reply.tool ? 'tool_calls' : 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const config = `[llm]\nprovider = "openai-compatible"\nbase_url = "http://127.0.0.1:${server.address().port}/v1"\n` +
    'model = "fake-model"\nstream = false\nretry_base_ms = 20\nmax_retries = 1\n';
  const script = (more) => { replies = more; next = 0; };
  return { config, script, close: () => new Promise((resolve) => server.close(resolve)) };
}
