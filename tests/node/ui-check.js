// ui-check.js URL OUTDIR PID - cprof serve's web pages in headless Chromium
// (Debian's, through puppeteer-core): the list shows the stored profiles;
// a profile page draws the flame graph and clicking hot_sixty zooms it; the
// comparison page draws a differential graph; the session form starts a
// session on PID that lands in the store and then in the list.  Writes a
// screenshot of each page into OUTDIR; prints one line per check, "ok ..."
// or "not ok ...", and exits 1 when one failed.  Requests that leave the
// machine fail (the test runs it in a network namespace with only lo):
// they are reported.
'use strict';
const puppeteer = require('puppeteer-core');
const [url, outdir, pid] = process.argv.slice(2);
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
let failures = 0;
const check = (ok, what) => {
  console.log((ok ? 'ok ' : 'not ok ') + what);
  if (!ok) failures++;
};

(async () => {
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: 'new',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
      '--user-data-dir=' + outdir + '/chromium-profile'],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  const offsite = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(url) && !u.startsWith('blob:') && !u.startsWith('data:')) offsite.push(u);
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  // the list
  await page.goto(url + '/', { waitUntil: 'networkidle0' });
  await page.waitForSelector('tr.profile-row', { timeout: 10000 });
  const nrows = await page.$$eval('tr.profile-row', (r) => r.length);
  const services = await page.$$eval('section.service', (s) => s.map((x) => x.dataset.service));
  await page.screenshot({ path: outdir + '/ui-list.png', fullPage: true });
  check(nrows > 0 && services.includes('web'), `list: ${nrows} profiles in services ${services.join(', ')}`);

  // a profile: its flame graph, hot_sixty clickable (zoom)
  const id = await page.$eval('section[data-service="web"] tr.profile-row', (r) => r.dataset.id);
  await page.goto(url + '/#/profile/' + id, { waitUntil: 'networkidle0' });
  await page.waitForSelector('iframe#flame', { timeout: 10000 });
  const frame = await (await page.$('iframe#flame')).contentFrame();
  await frame.waitForSelector('#frames0 g', { timeout: 10000 });
  const widthOf = () => frame.$$eval('#frames0 g', (gs) => {
    for (const g of gs) {
      const t = g.querySelector('title');
      if (t && t.textContent.startsWith('hot_sixty ')) return Number(g.querySelector('rect').getAttribute('width'));
    }
    return -1;
  });
  const before = await widthOf();
  const target = await frame.evaluateHandle(() => {
    for (const g of document.querySelectorAll('#frames0 g')) {
      const t = g.querySelector('title');
      if (t && t.textContent.startsWith('hot_sixty ')) return g.querySelector('rect');
    }
    return null;
  });
  const topRows = await page.$$eval('tr.top-row', (r) => r.map((x) => x.firstChild.textContent));
  const topSelf = await page.$eval('tr.top-row td.num', (c) => parseFloat(c.textContent));
  await page.screenshot({ path: outdir + '/ui-profile.png' });
  let after = -1, unzoom = '';
  if (before > 0 && target.asElement()) {
    await target.asElement().click();
    after = await widthOf();
    unzoom = await frame.$eval('#unzoom', (u) => u.getAttribute('class'));
  }
  await page.screenshot({ path: outdir + '/ui-profile-zoomed.png' });
  check(before > 0 && after > before && unzoom === 'btn',
    `profile page: flame graph drawn, hot_sixty ${before} px wide, ${after} px after a click (zoomed)`);
  check(topRows[0] === 'hot_sixty' && topSelf >= 55 && topSelf <= 65,
    `profile page: top functions table, first ${topRows[0]} with ${topSelf}% self (60 +-5)`);
  await page.type('#search', 'ten');
  const searched = await page.$$eval('tr.top-row', (r) => r.map((x) => x.firstChild.textContent));
  check(searched.length === 1 && searched[0] === 'hot_ten', `search 'ten': ${searched.join(', ')}`);

  // compare two profiles of web
  const ids = await (await fetch(url + '/api/v1/profiles?service=web')).json();
  const [a, b] = ids.profiles.map((p) => p.id);
  await page.goto(`${url}/#/compare?service=web&base_id=${b}&target_id=${a}`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('iframe#diff', { timeout: 10000 });
  const dframe = await (await page.$('iframe#diff')).contentFrame();
  await dframe.waitForSelector('#frames0 g', { timeout: 10000 });
  const dtitle = await dframe.$eval('#title', (t) => t.textContent).catch(() => '');
  await page.screenshot({ path: outdir + '/ui-compare.png' });
  check(/against/.test(dtitle), `compare page: differential flame graph "${dtitle}"`);

  // a session from the form, landing in the store and the list
  await page.goto(url + '/#/session', { waitUntil: 'networkidle0' });
  await page.waitForSelector('#session-form');
  await page.type('#sess-pid', String(pid));
  await page.$eval('#sess-duration', (e) => { e.value = '1'; });
  await page.$eval('#sess-service', (e) => { e.value = 'fromui'; });
  await page.click('#sess-start');
  await page.waitForSelector('#session-landed a', { timeout: 20000 });
  const landed = await page.$eval('#session-landed a', (e) => e.textContent);
  await page.screenshot({ path: outdir + '/ui-session.png' });
  await page.goto(url + '/#/', { waitUntil: 'networkidle0' });
  await page.waitForSelector('section[data-service="fromui"] tr.profile-row', { timeout: 10000 });
  const listed = await page.$$eval('section[data-service="fromui"] tr.profile-row', (r) => r.map((x) => x.dataset.id));
  check(listed.includes(landed), `session form: session stored as ${landed}, listed under fromui`);

  check(offsite.length === 0, `no request left this server (${offsite.length}: ${offsite.slice(0, 3).join(' ')})`);
  check(errors.length === 0, `no script errors (${errors.slice(0, 2).join('; ')})`);
  await browser.close();
  process.exit(failures ? 1 : 0);
})().catch((e) => {
  console.log('not ok ui-check: ' + (e && e.stack ? e.stack.split('\n')[0] : e));
  process.exit(1);
});
