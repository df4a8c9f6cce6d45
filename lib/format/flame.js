/* flame.js - what the flame graphs of `cprof flame` do when clicked.
 *
 * lib/format/flame.c embeds this file in every SVG it writes, after
 * `var cpflame = {...}`: the layout numbers, a table of names and one of
 * colours, and two trees ("merged from the root" and "merged from the
 * leaves") as flat arrays of frames: depth, x, width, name index, colour
 * index (plus the new and the base weight in a differential graph), with x
 * and width in weight units.  Tree 0 is also in the document as SVG
 * elements, one <g> per frame in the same order; tree 1 is turned into
 * elements the first time it is shown.  Nothing here loads anything from
 * the network.
 */
"use strict";

var fg = {
	cur: 0, /* the tree shown */
	inverted: cpflame.inverted,
	zoomed: -1, /* index of the frame zoomed into, -1 none */
	re: null, /* active search */
	term: "",
	views: [null, null]
};
var SVGNS = "http://www.w3.org/2000/svg";
var STRIDE = cpflame.diff ? 7 : 5;
var HIGHLIGHT = "rgb(230,0,230)";

function byId(id) {
	return document.getElementById(id);
}

function setText(id, s) {
	var e = byId(id);
	if (e)
		e.textContent = s;
}

function fmtCount(v) {
	return Math.round(v).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function fmtPercent(part, whole) {
	return (whole > 0 ? (part * 100) / whole : 0).toFixed(2) + "%";
}

/* the same text as the <title> elements flame.c writes */
function tooltip(k, i) {
	var t = cpflame.trees[k], o = i * STRIDE, name = cpflame.names[t.f[o + 3]];
	if (!cpflame.diff)
		return name + " (" + fmtCount(t.f[o + 2]) + " " + cpflame.countname + ", " +
			fmtPercent(t.f[o + 2], t.total) + ")";
	var before = Math.round(t.f[o + 6]), after = t.f[o + 5], d = after - before;
	var s = name + " (before " + fmtCount(before) + ", after " + fmtCount(after) + ", " +
		(d >= 0 ? "+" : "") + fmtCount(d) + " / ";
	if (before > 0)
		s += (d >= 0 ? "+" : "") + fmtPercent(d, before);
	else
		s += "new";
	return s + ")";
}

function label(name, px) {
	var fit = Math.floor((px - 6) / (cpflame.fs * 0.59));
	if (fit < 3)
		return "";
	if (name.length <= fit)
		return name;
	return name.substring(0, fit - 2) + "..";
}

function frameY(depth) {
	if (fg.inverted)
		return cpflame.ypad1 + depth * cpflame.fh;
	return cpflame.height - cpflame.ypad2 - (depth + 1) * cpflame.fh;
}

/* ---- the frames as elements ------------------------------------------- */

function bindStatic(group) {
	var v = { group: group, el: [], rect: [], text: [] };
	for (var c = group.firstElementChild; c; c = c.nextElementSibling) {
		c.cpIndex = v.el.length;
		v.el.push(c);
		v.rect.push(c.getElementsByTagName("rect")[0]);
		var t = c.getElementsByTagName("text");
		v.text.push(t.length ? t[0] : null);
	}
	return v;
}

function buildView(k) {
	var t = cpflame.trees[k], n = t.f.length / STRIDE;
	var group = document.createElementNS(SVGNS, "g");
	group.setAttribute("id", "frames" + k);
	group.setAttribute("class", "frames");
	group.setAttribute("font-size", cpflame.fs);
	var v = { group: group, el: [], rect: [], text: [] };
	for (var i = 0; i < n; i++) {
		var g = document.createElementNS(SVGNS, "g");
		var title = document.createElementNS(SVGNS, "title");
		title.textContent = tooltip(k, i);
		var r = document.createElementNS(SVGNS, "rect");
		r.setAttribute("height", cpflame.fh - 1);
		r.setAttribute("rx", 2);
		r.setAttribute("ry", 2);
		r.setAttribute("fill", cpflame.colors[t.f[i * STRIDE + 4]]);
		g.appendChild(title);
		g.appendChild(r);
		g.cpIndex = i;
		group.appendChild(g);
		v.el.push(g);
		v.rect.push(r);
		v.text.push(null);
	}
	var first = byId("frames0");
	first.parentNode.insertBefore(group, first.nextSibling);
	return v;
}

/* Lay the frames of the tree shown out for the zoom and orientation:
 * the zoomed frame spans the width, its ancestors too (dimmed), frames
 * outside it are hidden. */
function place() {
	var k = fg.cur, t = cpflame.trees[k], f = t.f, v = fg.views[k];
	var n = f.length / STRIDE, plot = cpflame.width - 2 * cpflame.xpad;
	var zd = 0, zx = 0, zw = f[2];
	if (fg.zoomed >= 0) {
		var z = fg.zoomed * STRIDE;
		zd = f[z];
		zx = f[z + 1];
		zw = f[z + 2];
	}
	var scale = zw > 0 ? plot / zw : 0, eps = zw * 1e-9;
	for (var i = 0; i < n; i++) {
		var o = i * STRIDE, d = f[o], x = f[o + 1], w = f[o + 2];
		var show = true, dim = false, px = 0, pw = 0;
		if (d < zd) {
			show = x <= zx + eps && x + w >= zx + zw - eps;
			dim = true;
			px = cpflame.xpad;
			pw = plot;
		} else if (x >= zx - eps && x + w <= zx + zw + eps) {
			px = cpflame.xpad + (x - zx) * scale;
			pw = w * scale;
		} else {
			show = false;
		}
		var e = v.el[i];
		if (!show) {
			e.style.display = "none";
			continue;
		}
		e.style.display = "";
		if (dim)
			e.setAttribute("class", "dim");
		else if (e.hasAttribute("class"))
			e.removeAttribute("class");
		var y = frameY(d), r = v.rect[i];
		r.setAttribute("x", px.toFixed(2));
		r.setAttribute("width", pw.toFixed(2));
		r.setAttribute("y", y.toFixed(1));
		var s = label(cpflame.names[f[o + 3]], pw), tx = v.text[i];
		if (!s && !tx)
			continue;
		if (!tx) {
			tx = v.text[i] = document.createElementNS(SVGNS, "text");
			e.appendChild(tx);
		}
		tx.textContent = s;
		tx.setAttribute("x", (px + 3).toFixed(2));
		tx.setAttribute("y", (y + (cpflame.fh + cpflame.fs * 0.7) / 2).toFixed(1));
	}
}

/* ---- zoom --------------------------------------------------------------- */

function zoom(i) {
	if (i <= 0 || cpflame.trees[fg.cur].f[i * STRIDE] === 0)
		return unzoom();
	fg.zoomed = i;
	byId("unzoom").setAttribute("class", "btn");
	place();
}

function unzoom() {
	if (fg.zoomed < 0)
		return;
	fg.zoomed = -1;
	byId("unzoom").setAttribute("class", "btn hide");
	place();
}

/* ---- search ------------------------------------------------------------- */

/* Colour the matches and show their share.  Each sample counts once: a
 * match inside another match (recursion, or a caller and its callee both
 * matching) lies within the outer one's span and is skipped. */
function highlight() {
	var k = fg.cur, t = cpflame.trees[k], f = t.f, v = fg.views[k];
	var n = f.length / STRIDE, hits = [];
	for (var i = 0; i < n; i++) {
		var o = i * STRIDE, m = fg.re !== null && fg.re.test(cpflame.names[f[o + 3]]);
		v.rect[i].setAttribute("fill", m ? HIGHLIGHT : cpflame.colors[f[o + 4]]);
		if (m)
			hits.push(o);
	}
	if (fg.re === null) {
		setText("matched", " ");
		setText("search", "Search");
		return;
	}
	hits.sort(function (a, b) {
		return f[a + 1] - f[b + 1] || f[a] - f[b];
	});
	var end = -Infinity, sum = 0, eps = f[2] * 1e-9;
	for (var h = 0; h < hits.length; h++) {
		var p = hits[h];
		if (f[p + 1] < end - eps)
			continue;
		sum += cpflame.diff ? f[p + 5] : f[p + 2];
		end = f[p + 1] + f[p + 2];
	}
	setText("matched", "Matched: " + fmtPercent(sum, t.total));
	setText("search", "Reset Search");
}

function search(term) {
	var re;
	try {
		re = new RegExp(term);
	} catch (e) {
		alert("bad regular expression: " + e.message);
		return;
	}
	fg.re = re;
	fg.term = term;
	highlight();
}

function resetSearch() {
	fg.re = null;
	highlight();
}

function promptSearch() {
	var term = prompt("Search for a function (regular expression, e.g. ^ext4_)", fg.term);
	if (term !== null && term !== "")
		search(term);
}

/* ---- the two toggles ----------------------------------------------------- */

function toggleOrientation() {
	fg.inverted = !fg.inverted;
	setText("orient", fg.inverted ? "Flame" : "Icicle");
	if (cpflame.titles)
		setText("title", cpflame.titles[fg.inverted ? 1 : 0]);
	place();
}

function toggleMerge() {
	fg.views[fg.cur].group.style.display = "none";
	fg.cur = 1 - fg.cur;
	if (!fg.views[fg.cur])
		fg.views[fg.cur] = buildView(fg.cur);
	fg.views[fg.cur].group.style.display = "";
	fg.zoomed = -1;
	byId("unzoom").setAttribute("class", "btn hide");
	setText("merge", cpflame.trees[fg.cur].reverse ? "From root" : "From leaves");
	place();
	highlight();
}

/* ---- events -------------------------------------------------------------- */

function frameOf(e) {
	for (var el = e.target; el && el.parentNode; el = el.parentNode) {
		var p = el.parentNode;
		if (p.getAttribute && p.getAttribute("class") === "frames")
			return el.cpIndex === undefined ? -1 : el.cpIndex;
	}
	return -1;
}

function init(evt) {
	fg.views[0] = bindStatic(byId("frames0"));
	var svg = document.documentElement;
	svg.addEventListener("click", function (e) {
		var i = frameOf(e);
		if (i >= 0)
			zoom(i);
	});
	svg.addEventListener("mouseover", function (e) {
		var i = frameOf(e);
		if (i >= 0)
			setText("details", tooltip(fg.cur, i));
	});
	svg.addEventListener("mouseout", function (e) {
		if (frameOf(e) >= 0)
			setText("details", " ");
	});
	byId("unzoom").addEventListener("click", unzoom);
	byId("search").addEventListener("click", function () {
		if (fg.re !== null)
			resetSearch();
		else
			promptSearch();
	});
	byId("orient").addEventListener("click", toggleOrientation);
	byId("merge").addEventListener("click", toggleMerge);
	window.addEventListener("keydown", function (e) {
		if (((e.ctrlKey || e.metaKey) && (e.key === "f" || e.key === "F")) || e.key === "/") {
			e.preventDefault();
			promptSearch();
		} else if (e.key === "Escape") {
			resetSearch();
			unzoom();
		}
	});
}
