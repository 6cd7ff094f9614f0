// Qinling's Node.js runtime agent: runs one function inside a sandboxed worker.
//
// Started by the sandbox (qinling/orchestrator/local/_sandbox/jail.py) as
// `node /opt/qinling/runtime/agent.js` after the worker was isolated: fd 3 is
// its end of a Unix socket pair with the driver (its channel), fd 4 the read
// end of the zygote's lifeline pipe. The worker ends when either closes.
// Settings arrive in QINLING_AGENT (JSON) and are removed from the
// environment before the function is loaded.
//
// Protocol (the same as the Python agent): the channel first
// gets a hello {ready, init_duration[, load_error, logs]}, then every
// request {input, context} gets {success, output, duration, logs}. Frames are
// a 4-byte big-endian length followed by UTF-8 JSON.
//
// Calling convention: the entry `file.export` names module `file` of the
// package and its export; it is called as `fn(input, context)` and may return
// a value or a Promise. Output to process.stdout / process.stderr (console.*)
// is the logs.
'use strict';

const net = require('net');
const path = require('path');

const config = JSON.parse(process.env.QINLING_AGENT);
delete process.env.QINLING_AGENT;

let logChunks = [];
let logSize = 0;

function capture(chunk, encoding) {
  const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), encoding);
  if (logSize < config.max_logs) {
    logChunks.push(data.subarray(0, config.max_logs - logSize));
  }
  logSize += data.length;
  return true;
}

function takeLogs() {
  let text = Buffer.concat(logChunks).toString('utf8');
  if (logSize > config.max_logs) {
    text += `\n[logs truncated: ${logSize} bytes written, the limit is ${config.max_logs} bytes]`;
  }
  logChunks = [];
  logSize = 0;
  return text;
}

for (const stream of [process.stdout, process.stderr]) {
  stream.write = (chunk, encoding, callback) => {
    capture(chunk, typeof encoding === 'string' ? encoding : 'utf8');
    const done = typeof encoding === 'function' ? encoding : callback;
    if (done) process.nextTick(done);
    return true;
  };
}

function loadFunction(entry) {
  const dot = entry.lastIndexOf('.');
  const file = dot < 0 ? 'index' : entry.slice(0, dot);
  const name = dot < 0 ? entry : entry.slice(dot + 1);
  try {
    const module = require(path.join(config.package_dir, file));
    const fn = name === 'default' && typeof module === 'function' ? module : module[name];
    if (typeof fn !== 'function') {
      throw new TypeError(`${name} is not a function exported by ${file}`);
    }
    return { fn, error: null };
  } catch (err) {
    console.error(err && err.stack ? err.stack : String(err));
    const kind = err && err.name ? err.name : 'Error';
    const message = err && err.message !== undefined ? err.message : String(err);
    return { fn: null, error: `Failed to load function '${entry}': ${kind}: ${message}` };
  }
}

function jsonable(value) {
  if (value === undefined) return null;
  try {
    JSON.stringify(value);
    return value;
  } catch (err) {
    return String(value);
  }
}

function capped(output) {
  const text = typeof output === 'string' ? output : JSON.stringify(output);
  const size = Buffer.byteLength(text);
  if (size <= config.max_output) return output;
  const cut = Buffer.from(text).subarray(0, config.max_output).toString('utf8');
  return `${cut}\n[output truncated: ${size} bytes, the limit is ${config.max_output} bytes]`;
}

async function execute(fn, request) {
  const started = process.hrtime.bigint();
  let success = true;
  let output;
  try {
    const input = request.input === null ? undefined : request.input;
    output = jsonable(await fn(input, request.context || {}));
  } catch (err) {
    success = false;
    console.error(err && err.stack ? err.stack : String(err));
    const kind = err && err.name ? err.name : 'Error';
    output = `${kind}: ${err && err.message !== undefined ? err.message : String(err)}`;
  }
  const duration = Number(process.hrtime.bigint() - started) / 1e9;
  return { success, output: capped(output), duration, logs: takeLogs() };
}

function frame(message) {
  const body = Buffer.from(JSON.stringify(message));
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

function serveConnection(conn, loaded, hello) {
  let pending = Buffer.alloc(0);
  let chain = Promise.resolve();
  conn.write(frame(hello));
  conn.on('data', (data) => {
    pending = Buffer.concat([pending, data]);
    while (pending.length >= 4) {
      const size = pending.readUInt32BE(0);
      if (pending.length < 4 + size) break;
      const request = JSON.parse(pending.subarray(4, 4 + size).toString('utf8'));
      pending = pending.subarray(4 + size);
      chain = chain.then(async () => {
        const reply = loaded.fn
          ? await execute(loaded.fn, request)
          : { success: false, output: loaded.error, duration: 0, logs: '' };
        conn.write(frame(reply));
      });
    }
  });
  conn.on('error', () => conn.destroy());
}

function main() {
  const started = process.hrtime.bigint();
  const loaded = loadFunction(config.entry);
  const hello = { ready: true, init_duration: Number(process.hrtime.bigint() - started) / 1e9 };
  if (loaded.error) {
    hello.load_error = loaded.error;
    hello.logs = takeLogs();
  }
  const channel = new net.Socket({ fd: 3, readable: true, writable: true });
  channel.on('close', () => process.exit(0));
  serveConnection(channel, loaded, hello);
  const lifeline = new net.Socket({ fd: 4, readable: true, writable: false });
  lifeline.on('end', () => process.exit(0));
  lifeline.on('close', () => process.exit(0));
  lifeline.on('error', () => process.exit(0));
  lifeline.resume();
}

main();
