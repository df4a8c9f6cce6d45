// ui-page.js URL ID TOKEN - bench/store.sh: how long a profile page of
// cprof serve's web UI takes in headless Chromium (Debian's, through
// puppeteer-core from tests/node) until it is interactive: the flame
// graph drawn and a click on its widest frame below the root zoomed
// (the clicked frame filling the width).  Prints "DRAWN ZOOMED CLICK
// FRAMES": seconds from navigation to the graph drawn, to the zoom
// done, the click's own latency in seconds, and the frames drawn.
'use strict';
const puppeteer = require('puppeteer-core');
const [url, id, token] = process.argv.slice(2);

(async () => {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: 'new',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
      '--user-data-dir=' + (process.env.TMPDIR || '/tmp') + '/cprof-ui-bench-' + process.pid],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    if (token) await page.setExtraHTTPHeaders({ Authorization: 'Bearer ' + token });
    // the page itself loaded first, so that the time is the profile's
    await page.goto(url + '/', { waitUntil: 'networkidle0' });
    const t0 = Date.now();
    await page.evaluate((h) => { location.hash = h; }, '#/profile/' + id);
    await page.waitForSelector('iframe#flame', { timeout: 30000 });
    let frame = null;
    for (;;) {
      frame = await (await page.$('iframe#flame')).contentFrame();
      if (frame && (await frame.$('#frames0 g').catch(() => null))) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const drawn = (Date.now() - t0) / 1000;
    const nframes = await frame.$$eval('#frames0 g', (g) => g.length);
    // the widest frame one level above the root row
    const target = await frame.evaluateHandle(() => {
      let best = null, bw = 0, rootY = -1;
      for (const r of document.querySelectorAll('#frames0 g rect')) {
        const y = Number(r.getAttribute('y')), w = Number(r.getAttribute('width'));
        if (y > rootY) rootY = y;
      }
      for (const r of document.querySelectorAll('#frames0 g rect')) {
        const y = Number(r.getAttribute('y')), w = Number(r.getAttribute('width'));
        if (y < rootY - 1 && w > bw && w < 0.9 * document.documentElement.clientWidth) {
          best = r;
          bw = w;
        }
      }
      return best;
    });
    const before = await target.evaluate((r) => r.getBoundingClientRect().width);
    const t1 = Date.now();
    await target.asElement().click();
    await frame.waitForFunction((r, b) => r.getBoundingClientRect().width > b * 1.5,
      { timeout: 30000, polling: 'raf' }, target, before);
    const zoomed = (Date.now() - t0) / 1000;
    console.log(`${drawn.toFixed(3)} ${zoomed.toFixed(3)} ${((Date.now() - t1) / 1000).toFixed(3)} ${nframes}`);
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error('ui-page: ' + e.message);
  process.exit(1);
});
