"""The fixed assets of the leaderboard page (:mod:`harness.leaderboard.page`): its inline
stylesheet, its inline sorting script and the CSS of the rank-band colours.

* :data:`PAGE_CSS`: the stylesheet (one string, inlined in ``<style>``);
* :data:`PAGE_JS`: vanilla JavaScript that makes every ``table.lb-table`` sortable by a click
  (or Enter/Space) on a column header, by each cell's ``data-sort`` value (numeric when every
  key is a number, empty keys last, ties in page order); the page allows exactly this script by
  its sha256 in the Content-Security-Policy, so any change to it changes that hash;
* :func:`band_css`: ``.band-1``, ``.band-2``, ... background colours from
  :data:`harness.leaderboard.plots.BAND_COLOURS` (the same colours as the plots).

Nothing here reads records; the strings are inserted verbatim.
"""

from __future__ import annotations

from harness.leaderboard import plots

__all__ = ["PAGE_CSS", "PAGE_JS", "band_css"]

PAGE_CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
sans-serif;color:#111827;background:#f3f4f6}
main{max-width:1240px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.8rem;margin:0 0 4px}
h2{font-size:1.3rem;margin:0 0 4px}
h3{font-size:1.05rem;margin:18px 0 8px}
header,section{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:18px 22px;
margin-bottom:20px}
.generated,.meta,.note,.count{color:#4b5563;font-size:.9rem}
.explain{background:#f9fafb;border-left:4px solid #2563eb;padding:6px 14px;margin:12px 0;
font-size:.92rem}
.toc{list-style:none;padding:0;margin:8px 0 0;display:flex;flex-wrap:wrap;gap:6px 18px}
.protocol{font-weight:400;color:#4b5563;font-size:.85em;background:#eef2ff;border-radius:4px;
padding:1px 6px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f4f6;
padding:1px 4px;border-radius:4px}
a{color:#1d4ed8;text-decoration:none}a:hover{text-decoration:underline}
.table-wrap{overflow-x:auto;margin:12px 0}
table.lb-table{border-collapse:collapse;width:100%;font-size:.88rem}
.lb-table th,.lb-table td{padding:6px 8px;border-bottom:1px solid #e5e7eb;text-align:left;
vertical-align:top;white-space:nowrap}
.lb-table th{background:#f9fafb;cursor:pointer;user-select:none;font-weight:600}
.lb-table th:hover{background:#eef2ff}
.lb-table th .h::after{content:"\\00a0\\2195";color:#9ca3af;font-size:.8em}
.lb-table th[aria-sort=ascending] .h::after{content:"\\00a0\\25B2";color:#111827}
.lb-table th[aria-sort=descending] .h::after{content:"\\00a0\\25BC";color:#111827}
.lb-table tbody tr:hover{background:#f9fafb}
.lb-table td.num{text-align:right;font-variant-numeric:tabular-nums}
.ci{display:block;color:#6b7280;font-size:.8em}
.lb-table th{vertical-align:bottom;white-space:normal;min-width:3.6em}
.lb-table th.num{text-align:right}
.sub .name{font-weight:600;display:block;white-space:normal;word-break:break-word;
max-width:22em}
.sub .kind{color:#6b7280;font-size:.8em}
.unit{display:inline-block;border-radius:4px;padding:0 6px;font-size:.8em;background:#f3f4f6;
color:#374151}
.unit-seeds{background:#dcfce7;color:#166534;font-weight:600}
.unit-ft-seeds{background:#e0e7ff;color:#3730a3}
.band{display:inline-block;min-width:1.7em;text-align:center;border-radius:999px;color:#fff;
font-weight:600;font-size:.85em;padding:0 6px}
.band-x{background:#6b7280}
.plots{display:flex;flex-direction:column;gap:8px}
.plot-fig{margin:8px 0;overflow-x:auto}
.plot-fig svg{max-width:100%;height:auto;display:block}
.plot-fig figcaption{color:#4b5563;font-size:.85rem;margin-top:4px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}
.level-card{margin:0;border:1px solid #e5e7eb;border-radius:8px;padding:8px;background:#fff}
.level-card img{width:100%;height:auto;display:block;border-radius:4px;background:#f3f4f6}
.level-card figcaption{display:flex;flex-direction:column;gap:2px;margin-top:6px;
font-size:.85rem}
.level-name{font-weight:600;word-break:break-word}
.level-id{font-size:11px;word-break:break-all}
.best .who{color:#4b5563}
.level-card .gifs{font-size:12px;color:#4b5563}
.measured{font-size:12px;color:#4b5563}
.tier{display:inline-block;border-radius:999px;padding:0 6px;font-weight:600;color:#fff}
.tier-easy{background:#16a34a}.tier-medium{background:#d97706}.tier-hard{background:#b91c1c}
.tier-none{background:#9ca3af}
footer{color:#6b7280;font-size:.8rem;text-align:center}
@media (max-width:700px){main{padding:12px 8px}header,section{padding:12px}}
"""

PAGE_JS = """
(function () {
  function key(cell) {
    var v = cell.getAttribute('data-sort');
    return v === null ? cell.textContent.trim() : v;
  }
  function sortBy(table, th, col) {
    var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
    Array.prototype.forEach.call(th.parentNode.cells, function (c) {
      c.removeAttribute('aria-sort');
    });
    th.setAttribute('aria-sort', dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keys = rows.map(function (r) { return key(r.cells[col]); });
    var numeric = keys.every(function (k) { return k === '' || !isNaN(Number(k)); });
    var order = rows.map(function (r, i) { return i; });
    order.sort(function (a, b) {
      var ka = keys[a], kb = keys[b], c;
      if (ka === '' || kb === '') {
        if (ka === kb) { return a - b; }
        return ka === '' ? 1 : -1;
      }
      if (numeric) { c = Number(ka) - Number(kb); }
      else { c = ka.localeCompare(kb, undefined, {numeric: true, sensitivity: 'base'}); }
      if (dir === 'descending') { c = -c; }
      return c || a - b;
    });
    order.forEach(function (i) { body.appendChild(rows[i]); });
  }
  document.querySelectorAll('table.lb-table').forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.addEventListener('click', function () { sortBy(table, th, col); });
      th.addEventListener('keydown', function (ev) {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); sortBy(table, th, col); }
      });
    });
  });
})();
"""


def band_css() -> str:
    """One ``.band-N{background:...}`` rule per rank band colour (``plots.BAND_COLOURS``)."""
    return "".join(f".band-{i + 1}{{background:{c}}}" for i, c in enumerate(plots.BAND_COLOURS))
