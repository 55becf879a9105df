// Product page: copy the parameters cell, sortable tables, JS9 image viewer, bokeh plots.
(function () {
  "use strict";

  function copyParameters() {
    var button = document.getElementById("copy-parameters");
    if (!button) return;
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.target).innerText;
      var status = document.getElementById("copy-status");
      var done = function () { status.textContent = "Copied — paste it into the notebook's parameters cell."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
      } else { fallbackCopy(text); done(); }
    });
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    document.body.removeChild(area);
  }

  function sortableTables() {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      table.querySelectorAll("thead th").forEach(function (th, index) {
        if (th.querySelector("a")) return;  // server-side sorting
        th.tabIndex = 0;
        th.classList.add("sort");
        var sort = function () { sortBy(table, th, index); };
        th.addEventListener("click", sort);
        th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
      });
    });
  }

  function sortBy(table, th, index) {
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].innerText.trim(), y = b.cells[index].innerText.trim();
      var nx = parseFloat(x), ny = parseFloat(y);
      var cmp = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return ascending ? cmp : -cmp;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function loadJS9() {
    var div = document.getElementById("JS9");
    if (!div || typeof JS9 === "undefined") return;
    var regions = div.dataset.regions;
    JS9.Load(div.dataset.fits, {
      scale: "log", colormap: "viridis", zoom: "tofit",
      scaleclipping: "user", scalemin: 0.5, scalemax: parseFloat(div.dataset.scalemax) || 50,
      onload: function (im) {
        if (regions) JS9.AddRegions(regions, {}, {display: im});
        document.body.dataset.js9Loaded = "true";
      }
    }, {display: "JS9"});
  }

  function loadBokeh() {
    var div = document.getElementById("bokeh-plot");
    if (!div || typeof Bokeh === "undefined") return;
    fetch(div.dataset.plot).then(function (r) {
      if (!r.ok) throw new Error("plot unavailable (" + r.status + ")");
      return r.json();
    }).then(function (item) {
      return Bokeh.embed.embed_item(item, "bokeh-plot");
    }).then(function () {
      document.body.dataset.bokehRendered = "true";
    }).catch(function (err) {
      div.textContent = "The interactive plot could not be made: " + err.message;
    });
  }

  function start() {
    copyParameters();
    sortableTables();
    loadBokeh();
    if (typeof JS9 !== "undefined") {
      if (document.readyState === "complete") { loadJS9(); } else { window.addEventListener("load", loadJS9); }
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
