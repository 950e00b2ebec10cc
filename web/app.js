// Draws a grid of samples from model/generator.onnx (written by python -m dcgan_tf.serve_web).
// "New samples" draws fresh noise; the slider walks every cell from its noise to another
// point along a great circle (slerp), as generate.py --interpolate does. A conditional
// generator (train.py --conditional) gets a class menu: one class in every cell, or every
// class in turn (?label=K chooses class K at the start).
"use strict";

const params = new URLSearchParams(location.search);
const COUNT = Math.min(64, Math.max(1, parseInt(params.get("n") || "16", 10)));
const COLUMNS = Math.ceil(Math.sqrt(COUNT));
ort.env.wasm.wasmPaths = new URL("ort/", location.href).href;
ort.env.wasm.numThreads = 1;  // Threads need cross-origin isolation, which a plain server lacks.

const status = document.getElementById("status");
const canvas = document.getElementById("grid");
const walk = document.getElementById("walk");
const seedInput = document.getElementById("seed");
const newButton = document.getElementById("new");
const classMenu = document.getElementById("class");
let session, info, start, end;

// A small seeded generator (mulberry32) and Box-Muller: standard normal noise.
function normals(seed, count) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const values = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    values[i] = radius * Math.cos(angle);
    if (i + 1 < count) values[i + 1] = radius * Math.sin(angle);
  }
  return values;
}

function slerp(a, b, t) {
  const out = new Float32Array(a.length);
  const size = info.noise_dim;
  for (let row = 0; row < a.length / size; row++) {
    let dot = 0, normA = 0, normB = 0;
    for (let i = row * size; i < (row + 1) * size; i++) {
      dot += a[i] * b[i]; normA += a[i] * a[i]; normB += b[i] * b[i];
    }
    const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(normA * normB))));
    const s = Math.sin(omega);
    const wa = s < 1e-6 ? 1 - t : Math.sin((1 - t) * omega) / s;
    const wb = s < 1e-6 ? t : Math.sin(t * omega) / s;
    for (let i = row * size; i < (row + 1) * size; i++) out[i] = wa * a[i] + wb * b[i];
  }
  return out;
}

// The class of each cell: the menu's class, or with "every class" 0, 1, 2, ... in turn.
function labels(rows) {
  const chosen = parseInt(classMenu.value, 10);
  return Int32Array.from({ length: rows }, (_, i) => chosen >= 0 ? chosen : i % info.num_classes);
}

async function generate(noise, rows) {
  const feeds = { noise: new ort.Tensor("float32", noise, [rows, info.noise_dim]) };
  if (info.num_classes) feeds.label = new ort.Tensor("int32", labels(rows), [rows]);
  const outputs = await session.run(feeds);
  return outputs[session.outputNames[0]];
}

function fillClassMenu() {
  if (!info.num_classes) return;
  const options = [["-1", "every class"]].concat(
    Array.from({ length: info.num_classes }, (_, k) => [String(k), String(k)]));
  for (const [value, text] of options) classMenu.add(new Option(text, value));
  const start = parseInt(params.get("label") || "-1", 10);
  classMenu.value = start >= 0 && start < info.num_classes ? String(start) : "-1";
  document.getElementById("class-label").hidden = false;
}

function draw(images) {
  const [rows, height, width, channels] = images.dims;
  const gap = 1;
  canvas.width = COLUMNS * (width + gap) - gap;
  canvas.height = Math.ceil(rows / COLUMNS) * (height + gap) - gap;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  const pixels = context.createImageData(width, height);
  const data = images.data;
  for (let n = 0; n < rows; n++) {
    for (let p = 0; p < height * width; p++) {
      for (let c = 0; c < 3; c++) {
        const value = data[(n * height * width + p) * channels + (channels === 3 ? c : 0)];
        pixels.data[p * 4 + c] = Math.round(Math.min(255, Math.max(0, (value + 1) * 127.5)));
      }
      pixels.data[p * 4 + 3] = 255;
    }
    context.putImageData(pixels, (n % COLUMNS) * (width + gap),
                         Math.floor(n / COLUMNS) * (height + gap));
  }
}

async function show() {
  const began = performance.now();
  const images = await generate(slerp(start, end, parseFloat(walk.value)), COUNT);
  draw(images);
  const chosen = parseInt(classMenu.value, 10);
  status.textContent = `${COUNT} samples${chosen >= 0 ? ` of class ${chosen}` : ""}, ` +
    `${info.height}x${info.width}x${info.channels}, ` +
    `in ${Math.round(performance.now() - began)} ms.`;
}

function newNoise() {
  const seed = parseInt(seedInput.value || "0", 10);
  start = normals(2 * seed, COUNT * info.noise_dim);
  end = normals(2 * seed + 1, COUNT * info.noise_dim);
  walk.value = 0;
}

// ?check=SEED: run COUNT noise vectors of that seed and print the noise and the images
// as JSON, so a test can compare the browser's numbers with onnxruntime's in Python.
async function check(seed) {
  const noise = normals(seed, COUNT * info.noise_dim);
  const images = await generate(noise, COUNT);
  const shown = document.getElementById("check");
  shown.textContent = JSON.stringify({ noise: Array.from(noise), dims: images.dims,
                                       labels: info.num_classes ? Array.from(labels(COUNT)) : null,
                                       values: Array.from(images.data) });
  shown.hidden = false;
}

// ?bench=BATCH: images per second of the generator at that batch, over 2 s or more
// after one warm-up call, shown and posted back (benchmarks/export_formats.py serves the
// page and reads it).
async function bench(batch) {
  const noise = normals(1, batch * info.noise_dim);
  await generate(noise, batch);
  let calls = 0;
  const began = performance.now();
  while (performance.now() - began < 2000 || calls < 3) {
    await generate(noise, batch);
    calls++;
  }
  const result = JSON.stringify({ batch, calls,
    images_per_second: calls * batch / ((performance.now() - began) / 1000) });
  document.getElementById("check").textContent = result;
  document.getElementById("check").hidden = false;
  await fetch("result", { method: "POST", body: result });  // To the benchmark's server.
}

async function main() {
  try {
    info = await (await fetch("model/info.json")).json();
    session = await ort.InferenceSession.create("model/generator.onnx");
    fillClassMenu();
    if (params.has("check")) await check(parseInt(params.get("check"), 10));
    if (params.has("bench")) await bench(parseInt(params.get("bench"), 10));
    newNoise();
    await show();
    newButton.disabled = walk.disabled = false;
    document.body.dataset.ready = "yes";
  } catch (error) {
    status.textContent = `Could not run the generator: ${error}`;
    document.body.dataset.ready = "error";
  }
}

newButton.addEventListener("click", () => { seedInput.value = parseInt(seedInput.value || "0", 10) + 1; newNoise(); show(); });
seedInput.addEventListener("change", () => { newNoise(); show(); });
walk.addEventListener("input", () => show());
classMenu.addEventListener("change", () => show());
main();
