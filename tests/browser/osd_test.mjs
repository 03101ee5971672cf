// Browser compatibility test: OpenSeadragon in headless Debian Chromium draws a slide served by
// reread-server, and the drawn pixels show tissue where the slide has tissue.
//
//   node osd_test.mjs --server PATH/reread-server --tiler PATH/reread-tiler --workdir DIR
//
// (or REREAD_SERVER_BIN, REREAD_TILER_BIN, REREAD_BROWSER_WORKDIR; CHROMIUM_BIN defaults to
// /usr/bin/chromium). Steps: make a synthetic slide with reread-tiler, start reread-server on port
// 0, serve viewer.html + OpenSeadragon from a local HTTP server, open the slide's .dzi in a
// 1024x768 viewer at home zoom, wait until OpenSeadragon reports the image fully loaded, take a
// screenshot and compare it, pixel by pixel, with the server's own thumbnail mapped onto the
// image's rectangle in the viewer. Tile traffic is checked in Playwright's network events and in
// the server's /metrics. Artefacts (screenshot.png, mismatch.png, thumbnail.png) go to the work
// dir. Exit 0 on pass, 1 on failure.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OSD_JS = path.join(HERE, 'node_modules', 'openseadragon', 'build', 'openseadragon', 'openseadragon.min.js');
const VIEWER_HTML = path.join(HERE, 'viewer.html');

const SLIDE_W = 8000;
const SLIDE_H = 6000;
const SLIDE_SEED = 7;
const OVERALL_TIMEOUT_MS = 180_000;
const FULLY_LOADED_TIMEOUT_MS = 90_000;
// Share of judged pixels that must match. A correct render scores 100%; a horizontally flipped
// one scores about 84% (tissue) and 93% (glass) on this slide.
const TISSUE_MIN = 0.97;
const GLASS_MIN = 0.98;

// ---------------------------------------------------------------------------------------------
// Arguments, logging, cleanup

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unexpected argument '${a}'`);
    out[m[1]] = m[2] !== undefined ? m[2] : argv[++i];
  }
  return out;
}
const args = parseArgs(process.argv.slice(2));
const SERVER_BIN = args.server || process.env.REREAD_SERVER_BIN;
const TILER_BIN = args.tiler || process.env.REREAD_TILER_BIN;
const WORKDIR = args.workdir || process.env.REREAD_BROWSER_WORKDIR;
const CHROMIUM_BIN = args.chromium || process.env.CHROMIUM_BIN || '/usr/bin/chromium';

const t0 = Date.now();
const log = (...m) => console.log(`[osd ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...m);

class TestFailure extends Error {}
const fail = (msg) => { throw new TestFailure(msg); };

const cleanups = [];   // run in reverse order, each bounded
let serverProc = null;

function killServerNow() {
  if (serverProc && serverProc.exitCode === null && serverProc.signalCode === null) {
    try { serverProc.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
// Last resort on any exit path: the server must not outlive the test. (Playwright kills the
// browser's process group on exit by itself.)
process.on('exit', killServerNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { log(`got ${sig}, stopping`); killServerNow(); process.exit(1); });
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new TestFailure(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

async function runCleanups() {
  while (cleanups.length) {
    const [what, fn] = cleanups.pop();
    try { await withTimeout(Promise.resolve().then(fn), 10_000, `cleanup: ${what}`); }
    catch (e) { log(`cleanup '${what}' failed: ${e.message}`); }
  }
  killServerNow();
}

// ---------------------------------------------------------------------------------------------
// Processes and HTTP

function runTool(bin, argv, timeoutMs) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d) => { output += d; });
    p.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new TestFailure(`${path.basename(bin)} timed out after ${timeoutMs} ms`)); }, timeoutMs);
    p.on('error', (e) => { clearTimeout(timer); reject(new TestFailure(`cannot run ${bin}: ${e.message}`)); });
    p.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new TestFailure(`${path.basename(bin)} ${argv.join(' ')} exited with ${code ?? sig}:\n${output}`));
    });
  });
}

// Starts reread-server on an ephemeral port; resolves with its base URL once it prints
// "listening on http://HOST:PORT".
function startServer(slidesDir, dataDir) {
  return new Promise((resolve, reject) => {
    const argv = ['--listen', '127.0.0.1:0', '--slides', slidesDir, '--data', dataDir, '--log-level', 'warn'];
    const p = spawn(SERVER_BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    serverProc = p;
    let stdout = '';
    let stderr = '';
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      reject(new TestFailure(`reread-server did not print 'listening on' within 15 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 15_000);
    p.stdout.on('data', (d) => {
      stdout += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(stdout);
      if (m && !settled) { settled = true; clearTimeout(timer); resolve(m[1].replace(/\/$/, '')); }
    });
    p.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20_000); });
    p.on('error', (e) => { if (!settled) { settled = true; clearTimeout(timer); reject(new TestFailure(`cannot start ${SERVER_BIN}: ${e.message}`)); } });
    p.on('exit', (code, sig) => {
      if (!settled) { settled = true; clearTimeout(timer); reject(new TestFailure(`reread-server exited (${code ?? sig}) before listening\nstderr: ${stderr}`)); }
      else if (!stopping) log(`reread-server exited unexpectedly (${code ?? sig}); stderr: ${stderr.slice(-2000)}`);
    });
    let stopping = false;
    cleanups.push(['stop reread-server', () => new Promise((res) => {
      stopping = true;
      if (p.exitCode !== null || p.signalCode !== null) return res();
      const kill = setTimeout(() => p.kill('SIGKILL'), 5_000);
      p.once('exit', () => { clearTimeout(kill); res(); });
      p.kill('SIGTERM');
    })]);
  });
}

let TOKEN = '';
async function httpGet(url, timeoutMs = 10_000) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { Authorization: `Bearer ${TOKEN}` } });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body };
}

// Local HTTP server for the page and OpenSeadragon (a different origin from reread-server).
function startPageServer() {
  const routes = {
    '/viewer.html': [VIEWER_HTML, 'text/html; charset=utf-8'],
    '/openseadragon.min.js': [OSD_JS, 'text/javascript; charset=utf-8'],
  };
  const srv = http.createServer((req, res) => {
    const pathname = new URL(req.url, 'http://x').pathname;
    if (pathname === '/favicon.ico') { res.writeHead(204); res.end(); return; }
    if (pathname === '/blank.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end('<!doctype html><title>blank</title>');
      return;
    }
    const route = routes[pathname];
    if (!route) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': route[1], 'Cache-Control': 'no-store' });
    res.end(fs.readFileSync(route[0]));
  });
  return new Promise((resolve, reject) => {
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      cleanups.push(['stop page server', () => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); })]);
      resolve(`http://127.0.0.1:${srv.address().port}`);
    });
  });
}

async function pollUntil(fn, timeoutMs, intervalMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last.done) return last.value;
    if (Date.now() > deadline) fail(`timed out after ${timeoutMs} ms waiting for ${what}; last state: ${JSON.stringify(last.state)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---------------------------------------------------------------------------------------------
// PNG (Playwright screenshots: 8-bit RGB or RGBA, not interlaced) and a small PNG writer

function decodePng(buf) {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8;
  let width = 0, height = 0, bitDepth = 0, colorType = 0, interlace = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4);
      bitDepth = data[8]; colorType = data[9]; interlace = data[12];
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const channels = { 2: 3, 6: 4 }[colorType];
  if (bitDepth !== 8 || !channels || interlace !== 0) throw new Error(`unsupported PNG (depth ${bitDepth}, colour type ${colorType}, interlace ${interlace})`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(width * height * 4);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? line[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let v = line[i];
      switch (filter) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) >> 1; break;
        case 4: { const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c; break; }
        default: throw new Error(`bad PNG filter ${filter}`);
      }
      line[i] = v & 255;
    }
    for (let x = 0; x < width; x++) {
      out[(y * width + x) * 4] = line[x * channels];
      out[(y * width + x) * 4 + 1] = line[x * channels + 1];
      out[(y * width + x) * 4 + 2] = line[x * channels + 2];
      out[(y * width + x) * 4 + 3] = channels === 4 ? line[x * channels + 3] : 255;
    }
    prev = line;
  }
  return { width, height, data: out };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function encodePng({ width, height, data }) {
  const chunk = (type, body) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(body.length);
    const tb = Buffer.concat([Buffer.from(type, 'ascii'), body]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(tb));
    return Buffer.concat([len, tb, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const raw = Buffer.alloc(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) data.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// ---------------------------------------------------------------------------------------------
// Colour classes. The synthetic slide is H&E: eosin pink and haematoxylin purple on near-white
// glass (about 245,243,240). Tissue is red and blue well above green; glass is bright and grey.

const minC = (r, g, b) => Math.min(r, g, b);
const chroma = (r, g, b) => Math.max(r, b) - g;
// Reference (thumbnail) classes: strict, so that only unambiguous pixels are judged.
const refTissue = (r, g, b) => minC(r, g, b) < 200 && chroma(r, g, b) >= 20;
const refGlass = (r, g, b) => minC(r, g, b) >= 225 && Math.max(r, g, b) - minC(r, g, b) <= 15;
// Screenshot classes: what a person would call pink/purple tissue, or near-white glass.
const shotTissue = (r, g, b) => minC(r, g, b) < 215 && chroma(r, g, b) >= 12;
const shotGlass = (r, g, b) => minC(r, g, b) >= 210 && Math.max(r, g, b) - minC(r, g, b) <= 25;

// ---------------------------------------------------------------------------------------------

async function main() {
  for (const [name, v] of [['--server / REREAD_SERVER_BIN', SERVER_BIN], ['--tiler / REREAD_TILER_BIN', TILER_BIN], ['--workdir / REREAD_BROWSER_WORKDIR', WORKDIR]]) {
    if (!v) fail(`missing ${name}`);
  }
  for (const f of [SERVER_BIN, TILER_BIN, CHROMIUM_BIN, OSD_JS]) {
    if (!fs.existsSync(f)) fail(`not found: ${f}`);
  }
  fs.mkdirSync(WORKDIR, { recursive: true });
  const slidesDir = path.join(WORKDIR, 'slides');
  const dataDir = path.join(WORKDIR, 'data');
  const profileDir = path.join(WORKDIR, 'chromium-profile');
  fs.rmSync(profileDir, { recursive: true, force: true });
  for (const d of [slidesDir, dataDir, profileDir]) fs.mkdirSync(d, { recursive: true });

  // 1. Synthetic slide.
  const slidePath = path.join(slidesDir, 'browser-synth.svs');
  if (!fs.existsSync(slidePath)) {
    await runTool(TILER_BIN, ['synth', slidePath, '--width', String(SLIDE_W), '--height', String(SLIDE_H), '--seed', String(SLIDE_SEED)], 60_000);
  }
  log(`synthetic slide ${SLIDE_W}x${SLIDE_H} written`);

  // 2. reread-server (a fresh record with an admin and their token) and the slide's id. Every request
  //    but /healthz carries the token; OpenSeadragon sends it with ajaxHeaders, as a client must.
  fs.rmSync(dataDir, { recursive: true, force: true });
  await runTool(SERVER_BIN, ['user', 'add', 'admin', '--role', 'admin', '--data', dataDir], 30_000);
  const tokenOut = await runTool(SERVER_BIN, ['token', 'create', 'admin', '--data', dataDir], 30_000);
  TOKEN = (/rr_[A-Za-z0-9_-]+/.exec(tokenOut) || [''])[0];
  if (!TOKEN) fail(`token create printed no token: ${tokenOut}`);
  const base = await startServer(slidesDir, dataDir);
  log(`reread-server at ${base}`);
  const slide = await pollUntil(async () => {
    const r = await httpGet(`${base}/api/slides`);
    if (r.status !== 200) return { done: false, state: { status: r.status } };
    const slides = JSON.parse(r.body.toString()).slides || [];
    const s = slides.find((x) => x.name === 'browser-synth');
    return s && s.status === 'ok' ? { done: true, value: s } : { done: false, state: slides };
  }, 30_000, 200, "the synthetic slide to be listed with status 'ok' in /api/slides");
  const id = slide.id;
  const dziUrl = `${base}/slides/${id}.dzi`;
  const dzi = await httpGet(dziUrl);
  if (dzi.status !== 200) fail(`GET ${dziUrl} -> ${dzi.status}`);
  if (dzi.headers.get('access-control-allow-origin') !== '*') fail(`${dziUrl} lacks 'Access-Control-Allow-Origin: *'`);
  const dziText = dzi.body.toString();
  const size = /<Size\s+Width="(\d+)"\s+Height="(\d+)"/.exec(dziText);
  if (!size || +size[1] !== SLIDE_W || +size[2] !== SLIDE_H) fail(`unexpected DZI: ${dziText}`);
  const maxLevel = Math.ceil(Math.log2(Math.max(SLIDE_W, SLIDE_H)));
  log(`slide ${id}: ${dziText.replace(/\s+/g, ' ').slice(0, 200)}`);
  const metricsBefore = await tileMetric(base);

  // 3. Page server and the browser.
  const pageBase = await startPageServer();
  const browserArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-quic', '--disable-component-update', '--disable-sync'];
  // launchPersistentContext is how Playwright takes an explicit, fresh --user-data-dir.
  const context = await withTimeout(chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: browserArgs,
    viewport: { width: 1024, height: 768 },
    deviceScaleFactor: 1,
    timeout: 60_000,
    handleSIGINT: true, handleSIGTERM: true, handleSIGHUP: true,
  }), 70_000, `starting ${CHROMIUM_BIN}`);
  cleanups.push(['close chromium', () => context.close()]);
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] || await context.newPage();
  log(`chromium ${context.browser()?.version() ?? ''} started`.replace('  ', ' '));

  // Network log: every tile request, its response and any failure.
  const tileRe = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/slides/${id}_files/(\\d+)/(\\d+)_(\\d+)\\.jpeg$`);
  const tiles = { requested: [], ok: [], bad: [], failed: [] };
  const otherRequests = [];
  page.on('request', (req) => {
    const m = tileRe.exec(req.url());
    if (m) tiles.requested.push({ url: req.url(), level: +m[1], at: Date.now() });
    else if (req.url().includes('_files/')) otherRequests.push(`unexpected tile URL ${req.url()}`);
  });
  page.on('response', async (res) => {
    const m = tileRe.exec(res.url());
    if (!m) return;
    const h = res.headers();
    const good = res.status() === 200 && (h['content-type'] || '').startsWith('image/jpeg') && h['server'] === 'Reread';
    (good ? tiles.ok : tiles.bad).push({ url: res.url(), level: +m[1], at: Date.now(), status: res.status(), type: h['content-type'], server: h['server'] });
  });
  page.on('requestfailed', (req) => {
    if (tileRe.test(req.url())) tiles.failed.push(`${req.url()}: ${req.failure()?.errorText}`);
  });
  const consoleLines = [];
  page.on('console', (msg) => consoleLines.push(`${msg.type()}: ${msg.text()}`));
  page.on('pageerror', (err) => consoleLines.push(`pageerror: ${err.message}`));

  // 4. Open the slide and wait until OpenSeadragon has every tile it needs.
  const query = new URLSearchParams({ dzi: dziUrl, token: TOKEN });
  if (process.env.REREAD_OSD_DRAWER) query.set('drawer', process.env.REREAD_OSD_DRAWER);
  if (process.env.REREAD_OSD_TILES_PER_FRAME) query.set('maxTilesPerFrame', process.env.REREAD_OSD_TILES_PER_FRAME);
  const pageUrl = `${pageBase}/viewer.html?${query}`;
  await page.goto(pageUrl, { waitUntil: 'load', timeout: 30_000 });
  const state = await pollUntil(async () => {
    const s = await page.evaluate(() => {
      const o = window.__osd;
      const v = window.__viewer;
      return { ...o, needsDraw: v ? v.world.needsDraw() : null, animating: v ? v.viewport.getZoom(true) !== v.viewport.getZoom(false) : null };
    });
    if (s.openFailed) fail(`OpenSeadragon could not open ${dziUrl}: ${s.openFailed}`);
    if (s.errors.length) fail(`errors in the page: ${s.errors.join('; ')}`);
    return { done: s.opened && s.fullyLoaded && !s.needsDraw && !s.animating, value: s, state: { ...s, tilesRequested: tiles.requested.length, tilesOk: tiles.ok.length } };
  }, FULLY_LOADED_TIMEOUT_MS, 250, "OpenSeadragon to report the slide fully loaded ('fully-loaded-change')");
  // Two more frames so that the last draw reaches the screen before the screenshot.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const span = (a) => (a.length ? `${((a[0].at - t0) / 1000).toFixed(1)}s..${((a.at(-1).at - t0) / 1000).toFixed(1)}s` : 'none');
  log(`fully loaded with the '${state.drawer}' drawer; ${tiles.ok.length} tiles received (requests ${span(tiles.requested)}, responses ${span(tiles.ok)})`);

  // Where the image lies in the viewer element (CSS pixels = screenshot pixels at scale 1).
  const geom = await page.evaluate(() => {
    const v = window.__viewer;
    const item = v.world.getItemAt(0);
    const size = item.getContentSize();
    const tl = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
    const br = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(size.x, size.y));
    const r = v.element.getBoundingClientRect();
    return { imgW: size.x, imgH: size.y, x0: tl.x, y0: tl.y, x1: br.x, y1: br.y,
      el: { x: r.left, y: r.top, w: r.width, h: r.height }, dpr: window.devicePixelRatio, fullyLoaded: item.getFullyLoaded() };
  });
  if (!geom.fullyLoaded) fail('the image stopped being fully loaded before the screenshot');
  log(`image drawn at (${geom.x0.toFixed(1)},${geom.y0.toFixed(1)})-(${geom.x1.toFixed(1)},${geom.y1.toFixed(1)}) in a ${geom.el.w}x${geom.el.h} viewer`);
  if (geom.dpr !== 1) fail(`devicePixelRatio is ${geom.dpr}, expected 1`);
  if (geom.x1 - geom.x0 < 512 || geom.y1 - geom.y0 < 256) fail(`image drawn too small at home zoom: ${JSON.stringify(geom)}`);

  const shotBuf = await page.screenshot({ clip: { x: geom.el.x, y: geom.el.y, width: geom.el.w, height: geom.el.h }, type: 'png', timeout: 30_000 });
  const shotPath = path.join(WORKDIR, 'screenshot.png');
  fs.writeFileSync(shotPath, shotBuf);
  log(`screenshot: ${shotPath}`);

  // 5. The server's own thumbnail, decoded by Chromium in a second page (on the page server's
  //    origin; the thumbnail comes through CORS).
  const thumbPage = await context.newPage();
  await thumbPage.goto(`${pageBase}/blank.html`, { waitUntil: 'load', timeout: 30_000 });
  const thumbUrl = `${base}/slides/${id}/thumbnail?max=1024`;
  const thumbDataUrl = await thumbPage.evaluate(async ([url, token]) => {
    const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    const img = await createImageBitmap(await res.blob());
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    c.getContext('2d').drawImage(img, 0, 0);
    return c.toDataURL('image/png');   // lossless; decoded below with the screenshot's decoder
  }, [thumbUrl, TOKEN]);
  await thumbPage.close();
  const thumbPng = Buffer.from(thumbDataUrl.slice(thumbDataUrl.indexOf(',') + 1), 'base64');
  fs.writeFileSync(path.join(WORKDIR, 'thumbnail.png'), thumbPng);
  const thumbImg = decodePng(thumbPng);
  log(`thumbnail ${thumbImg.width}x${thumbImg.height} from ${thumbUrl}`);

  // 6. Compare.
  const shot = decodePng(shotBuf);
  const result = compare(shot, thumbImg, geom);
  fs.writeFileSync(path.join(WORKDIR, 'mismatch.png'), encodePng(result.mismatchImage));

  // 7. Tile traffic.
  const metricsAfter = await tileMetric(base);
  const levels = [...new Set(tiles.ok.map((t) => t.level))].sort((a, b) => a - b);
  const uniqueOk = new Set(tiles.ok.map((t) => t.url)).size;
  const served = metricsAfter - metricsBefore;
  // The level whose width first reaches the drawn width: OpenSeadragon must have gone at least
  // down to the one above it (it draws a level once an image pixel covers >= 0.5 screen pixels).
  const drawnW = geom.x1 - geom.x0;
  const neededLevel = maxLevel - Math.floor(Math.log2(SLIDE_W / drawnW));
  const problems = [];
  if (tiles.ok.length === 0) problems.push('no tile came back from reread-server');
  if (tiles.bad.length) problems.push(`${tiles.bad.length} tile responses were not 200 image/jpeg from 'Server: Reread': ${JSON.stringify(tiles.bad.slice(0, 5))}`);
  if (tiles.failed.length) problems.push(`${tiles.failed.length} tile requests failed: ${tiles.failed.slice(0, 5).join('; ')}`);
  if (otherRequests.length) problems.push(otherRequests.slice(0, 5).join('; '));
  if (levels.length < 2) problems.push(`tiles came from only ${levels.length} level(s) (${levels}); expected a first level and at least one deeper one`);
  if (levels.length && levels[levels.length - 1] < neededLevel - 1) problems.push(`deepest level fetched is ${levels[levels.length - 1]}, but a ${drawnW.toFixed(0)} px wide view needs level ${neededLevel - 1} or deeper`);
  if (served < uniqueOk) problems.push(`reread-server's /metrics counts ${served} tiles served (deepzoom_tile, 200) but the browser received ${uniqueOk} distinct tiles`);
  if (consoleLines.some((l) => l.startsWith('pageerror'))) problems.push(`page errors: ${consoleLines.filter((l) => l.startsWith('pageerror')).join('; ')}`);
  if (state.tileFailures.length) problems.push(`OpenSeadragon tile-load-failed: ${state.tileFailures.slice(0, 5).join('; ')}`);

  const perLevel = levels.map((l) => `${l}:${tiles.ok.filter((t) => t.level === l).length}`).join(' ');
  log(`tiles from reread-server: ${tiles.ok.length} responses (${uniqueOk} distinct, server counted ${served}), per level ${perLevel}; deepest ${levels.at(-1)} of ${maxLevel}`);
  log(`tissue check: ${result.tissueOk}/${result.tissueN} tissue pixels drawn pink/purple (${pct(result.tissueOk, result.tissueN)}, need >= ${TISSUE_MIN * 100}%)`);
  log(`glass check:  ${result.glassOk}/${result.glassN} glass pixels drawn near-white (${pct(result.glassOk, result.glassN)}, need >= ${GLASS_MIN * 100}%)`);
  log(`judged ${result.tissueN + result.glassN} of ${result.inside} pixels inside the image (${pct(result.tissueN, result.inside)} tissue, ${pct(result.glassN, result.inside)} glass); mean drawn tissue colour ${result.meanTissue}`);

  const area = result.inside;
  if (area === 0) problems.push('no screenshot pixel lies inside the image rectangle');
  if (result.tissueN < 0.05 * area) problems.push(`only ${result.tissueN} of ${area} pixels are tissue in the thumbnail; the slide is not a usable reference`);
  if (result.glassN < 0.05 * area) problems.push(`only ${result.glassN} of ${area} pixels are glass in the thumbnail; the slide is not a usable reference`);
  if (result.tissueOk < TISSUE_MIN * result.tissueN) problems.push(`where the slide has tissue, only ${pct(result.tissueOk, result.tissueN)} of screenshot pixels are pink/purple (need >= ${TISSUE_MIN * 100}%); e.g. ${result.tissueMiss.join(', ')}`);
  if (result.glassOk < GLASS_MIN * result.glassN) problems.push(`where the slide is glass, only ${pct(result.glassOk, result.glassN)} of screenshot pixels are near-white (need >= ${GLASS_MIN * 100}%); e.g. ${result.glassMiss.join(', ')}`);

  if (problems.length) {
    if (consoleLines.length) log(`browser console:\n  ${consoleLines.slice(-30).join('\n  ')}`);
    fail(`${problems.length} problem(s):\n  - ${problems.join('\n  - ')}\n  artefacts: ${WORKDIR} (screenshot.png, mismatch.png: red = tissue not drawn, blue = glass not white; thumbnail.png)`);
  }
}

const pct = (a, n) => (n ? `${((100 * a) / n).toFixed(1)}%` : 'n/a');

async function tileMetric(base) {
  const r = await httpGet(`${base}/metrics`);
  if (r.status !== 200) fail(`GET ${base}/metrics -> ${r.status}`);
  const m = /^reread_http_requests_total\{route="deepzoom_tile",status="200"\}\s+(\d+)/m.exec(r.body.toString());
  return m ? +m[1] : 0;
}

// Maps every screenshot pixel inside the image rectangle to the thumbnail; judges only pixels
// whose thumbnail neighbourhood is all tissue or all glass (edges of fragments are left out).
function compare(shot, thumb, g) {
  const R = 3;   // neighbourhood radius, in thumbnail pixels
  const tw = thumb.width, th = thumb.height;
  const cls = new Int8Array(tw * th);   // 1 tissue, 2 glass, 0 neither
  for (let i = 0; i < tw * th; i++) {
    const r = thumb.data[4 * i], gg = thumb.data[4 * i + 1], b = thumb.data[4 * i + 2];
    cls[i] = refTissue(r, gg, b) ? 1 : refGlass(r, gg, b) ? 2 : 0;
  }
  const sure = new Int8Array(tw * th);
  for (let y = R; y < th - R; y++) {
    for (let x = R; x < tw - R; x++) {
      const c = cls[y * tw + x];
      if (!c) continue;
      let same = true;
      for (let dy = -R; dy <= R && same; dy++) for (let dx = -R; dx <= R; dx++) if (cls[(y + dy) * tw + x + dx] !== c) { same = false; break; }
      if (same) sure[y * tw + x] = c;
    }
  }
  const out = { width: shot.width, height: shot.height, data: Buffer.from(shot.data) };
  let inside = 0, tissueN = 0, tissueOk = 0, glassN = 0, glassOk = 0;
  const tissueMiss = [], glassMiss = [];
  const sum = [0, 0, 0];
  const x0 = Math.max(0, Math.ceil(g.x0)), x1 = Math.min(shot.width, Math.floor(g.x1));
  const y0 = Math.max(0, Math.ceil(g.y0)), y1 = Math.min(shot.height, Math.floor(g.y1));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      inside++;
      const tx = Math.floor(((x + 0.5 - g.x0) / (g.x1 - g.x0)) * tw);
      const ty = Math.floor(((y + 0.5 - g.y0) / (g.y1 - g.y0)) * th);
      if (tx < 0 || ty < 0 || tx >= tw || ty >= th) continue;
      const c = sure[ty * tw + tx];
      if (!c) continue;
      const p = 4 * (y * shot.width + x);
      const r = shot.data[p], gg = shot.data[p + 1], b = shot.data[p + 2];
      if (c === 1) {
        tissueN++;
        if (shotTissue(r, gg, b)) { tissueOk++; sum[0] += r; sum[1] += gg; sum[2] += b; }
        else {
          out.data[p] = 255; out.data[p + 1] = 0; out.data[p + 2] = 0;
          if (tissueMiss.length < 5 && (tissueN % 97 === 0 || tissueMiss.length === 0)) tissueMiss.push(`(${x},${y}) rgb(${r},${gg},${b})`);
        }
      } else {
        glassN++;
        if (shotGlass(r, gg, b)) glassOk++;
        else {
          out.data[p] = 0; out.data[p + 1] = 0; out.data[p + 2] = 255;
          if (glassMiss.length < 5 && (glassN % 97 === 0 || glassMiss.length === 0)) glassMiss.push(`(${x},${y}) rgb(${r},${gg},${b})`);
        }
      }
    }
  }
  const meanTissue = tissueOk ? `rgb(${sum.map((s) => Math.round(s / tissueOk)).join(',')})` : 'n/a';
  return { inside, tissueN, tissueOk, glassN, glassOk, tissueMiss, glassMiss, meanTissue, mismatchImage: out };
}

// ---------------------------------------------------------------------------------------------

const watchdog = setTimeout(async () => {
  console.error(`FAIL: the whole test took longer than ${OVERALL_TIMEOUT_MS / 1000} s`);
  killServerNow();
  process.exit(1);
}, OVERALL_TIMEOUT_MS);

let code = 0;
try {
  await main();
  log('PASS: OpenSeadragon drew the Reread slide with tissue where the slide has tissue');
} catch (e) {
  code = 1;
  console.error(`FAIL: ${e instanceof TestFailure ? e.message : e.stack || e}`);
} finally {
  await runCleanups();
  clearTimeout(watchdog);
}
process.exit(code);
