// pyroscope-push.js URL TOKEN APP: the official Pyroscope Node.js client
// (@pyroscope/nodejs) profiling a busy loop and pushing to URL/ingest every
// second for about 2.5 s, then flushing and exiting 0.
'use strict';
const Pyroscope = require('@pyroscope/nodejs');
const [url, token, app] = process.argv.slice(2);
Pyroscope.init({ serverAddress: url, appName: app, authToken: token || undefined,
  flushIntervalMs: 1000, tags: { env: 'test' } });
Pyroscope.start();
function spin_hot(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1);
  return x;
}
let n = 0;
const t = setInterval(() => {
  spin_hot(50);
  if (++n === 50) {
    clearInterval(t);
    Pyroscope.stop().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
  }
}, 0);
