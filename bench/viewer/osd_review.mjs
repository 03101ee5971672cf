// OpenSeadragon 6 (canvas drawer) in headless Debian Chromium replays the review of review.json against
// a tile server, the web viewer reread-viewer is measured beside.
//
//   node osd_review.mjs --base URL --review review.json --token T --out result.json [--chromium PATH]
//
// URL is the server, or the latency proxy in front of it. The page (osd_review.html) and OpenSeadragon are
// served on URL's origin through Playwright routes, which are removed before the slide opens, so no tile
// request passes through Playwright. Writes: first view (ms from creating the viewer until the image is
// fully loaded and drawn; and from the page's navigation, as the reference figures were taken), per-move
// ms until sharp (fully loaded after a drawn frame; moves at once, animationTime 0), tile requests and
// bytes as the page's Resource Timing saw them. Exit 1 on any failure.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BROWSER_TESTS = path.join(HERE, '..', '..', 'tests', 'browser');  // where the npm packages live
const require = createRequire(path.join(BROWSER_TESTS, 'package.json'));
const { chromium } = require('playwright-core');
const OSD_JS = path.join(BROWSER_TESTS, 'node_modules', 'openseadragon', 'build', 'openseadragon', 'openseadragon.min.js');
const PAGE = path.join(HERE, 'osd_review.html');
const MOVE_TIMEOUT_MS = 60_000;

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const k of ['base', 'review', 'token', 'out']) {
  if (!args[k]) { console.error(`osd_review: --${k} is needed`); process.exit(2); }
}
const review = JSON.parse(fs.readFileSync(args.review, 'utf8'));
const [W, H] = review.viewport;
const osdVersion = JSON.parse(fs.readFileSync(path.join(BROWSER_TESTS, 'node_modules', 'openseadragon', 'package.json'), 'utf8')).version;

const withTimeout = (promise, what) => {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not sharp after ${MOVE_TIMEOUT_MS / 1000} s`)), MOVE_TIMEOUT_MS);
  })]).finally(() => clearTimeout(timer));
};

const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  `--window-size=${W},${H}`];
const browser = await chromium.launch({ executablePath: args.chromium || '/usr/bin/chromium', headless: true, args: flags });
let code = 0;
try {
  const page = await browser.newPage({ viewport: { width: W, height: H }, deviceScaleFactor: 1 });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('crash', () => pageErrors.push('page crashed'));
  await page.route(`${args.base}/osd/**`, (route) => {
    const name = new URL(route.request().url()).pathname.replace('/osd/', '');
    const file = { 'osd_review.html': [PAGE, 'text/html'], 'openseadragon.min.js': [OSD_JS, 'text/javascript'] }[name];
    if (!file) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, contentType: file[1], body: fs.readFileSync(file[0]) });
  });
  const navigated = Date.now();
  await page.goto(`${args.base}/osd/osd_review.html`);
  await page.unrouteAll();  // from here every request goes straight to the network
  const dzi = `${args.base}/slides/${review.slide.id}.dzi`;
  await page.evaluate(() => performance.setResourceTimingBufferSize(1_000_000));
  const firstView = await withTimeout(page.evaluate(([d, t]) => openSlide(d, t), [dzi, args.token]), 'first view');
  const firstFromNavigation = Date.now() - navigated;
  console.error(`osd: first view ${Math.round(firstView)} ms (${firstFromNavigation} ms from navigation)`);

  const moves = [];
  for (const [i, m] of review.moves.entries()) {
    // Magnification 40 is 1 screen pixel a level-0 pixel on this 40x slide (imageZoom 1).
    const zoom = m.magnification / 40;
    const ms = await withTimeout(page.evaluate(([x, y, z]) => move(x, y, z), [m.center[0], m.center[1], zoom]), `move ${i + 1}`);
    moves.push({ kind: m.kind, ms_until_sharp: ms });
    console.error(`osd: move ${i + 1} ${m.kind} ${m.magnification}x (${m.center}): sharp after ${Math.round(ms)} ms`);
  }
  const state = await page.evaluate(() => {
    const tiles = performance.getEntriesByType('resource').filter((e) => e.name.includes('_files/'));
    return {
      requests: tiles.length, transfer_bytes: tiles.reduce((s, e) => s + e.transferSize, 0),
      body_bytes: tiles.reduce((s, e) => s + e.encodedBodySize, 0),
      tile_failures: window.bench.tileFailures, errors: window.bench.errors, drawer: viewer.drawer.getType(),
    };
  });
  const result = {
    client: `OpenSeadragon ${osdVersion} (${state.drawer} drawer), ${browser.version()}`,
    flags, first_view_ms: firstView, first_view_from_navigation_ms: firstFromNavigation, moves,
    tile_requests: state.requests, tile_transfer_bytes: state.transfer_bytes, tile_body_bytes: state.body_bytes,
    tile_failures: state.tile_failures, errors: [...state.errors, ...pageErrors],
  };
  fs.writeFileSync(args.out, JSON.stringify(result, null, 2) + '\n');
  if (result.errors.length || result.tile_failures) {
    console.error(`osd_review: ${result.tile_failures} tile failures; errors: ${result.errors.join('; ')}`);
    code = 1;
  }
} catch (e) {
  console.error(`osd_review: ${e.stack || e}`);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
