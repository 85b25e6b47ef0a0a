// ONNX Runtime (onnxruntime-node) timing worker for tools/bench/compare.py.
//
//   node ort_worker.js NODE_MODULES_DIR
//
// Reads one JSON command per line on stdin and answers one JSON line each:
//   {"cmd": "load", "key": K, "path": "m.onnx", "threads": N}
//       one InferenceSession per key: intraOpNumThreads N (ORT counts the
//       calling thread), interOpNumThreads 1, sequential, all graph
//       optimizations; input = fixed pseudo-random image of the model's shape
//   {"cmd": "logits", "key": K, "input": "x.bin"}  raw float32 NCHW -> logits
//   {"cmd": "time", "key": K, "runs": R, "warmup": W}  -> {"times_ms": [...]}
//   {"cmd": "unload", "key": K}
// Idle between commands (blocked on stdin), so it does not disturb the other
// runtimes that compare.py times in between.
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const ort = require(path.join(process.argv[2], 'onnxruntime-node'));
const sessions = new Map();

function image(dims) {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let state = 12345;
  for (let i = 0; i < n; ++i) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = (state >>> 8) / 16777216 * 4 - 2;
  }
  return data;
}

async function handle(msg) {
  if (msg.cmd === 'load') {
    const session = await ort.InferenceSession.create(msg.path, {
      executionProviders: ['cpu'],
      intraOpNumThreads: msg.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const name = session.inputNames[0];
    const dims = msg.shape;
    sessions.set(msg.key, {session, name, input: new ort.Tensor('float32', image(dims), dims), dims});
    return {ok: true, input: name, output: session.outputNames[0], version: ort.env.versions};
  }
  const s = sessions.get(msg.key);
  if (!s) throw new Error('no session ' + msg.key);
  if (msg.cmd === 'logits') {
    const buf = fs.readFileSync(msg.input);
    const x = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const out = await s.session.run({[s.name]: new ort.Tensor('float32', Float32Array.from(x), s.dims)});
    return {logits: Array.from(out[s.session.outputNames[0]].data)};
  }
  if (msg.cmd === 'time') {
    const feeds = {[s.name]: s.input};
    for (let i = 0; i < msg.warmup; ++i) await s.session.run(feeds);
    const times = [];
    for (let i = 0; i < msg.runs; ++i) {
      const t0 = process.hrtime.bigint();
      await s.session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return {times_ms: times};
  }
  if (msg.cmd === 'unload') {
    await s.session.release();
    sessions.delete(msg.key);
    return {ok: true};
  }
  throw new Error('unknown command ' + msg.cmd);
}

const rl = readline.createInterface({input: process.stdin});
let chain = Promise.resolve();
rl.on('line', (line) => {
  chain = chain.then(async () => {
    let reply;
    try {
      reply = await handle(JSON.parse(line));
    } catch (e) {
      reply = {error: String(e && e.message ? e.message : e)};
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
  });
});
rl.on('close', () => chain.then(() => process.exit(0)));
