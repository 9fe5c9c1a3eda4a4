/* A reconciliation run in the background: asks for its progress every second and shows it; once the
   run has ended, loads the page again, which then shows the results. Without JavaScript the page
   refreshes itself every few seconds (a <noscript> meta refresh) and has a refresh link. */
(function () {
  "use strict";
  var box = document.getElementById("run-progress");
  if (!box || !window.fetch) return;
  var statusUrl = box.dataset.statusUrl;
  var runUrl = box.dataset.runUrl;
  var INTERVAL_MS = 1000;

  function show(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = String(value);
  }

  function poll() {
    fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) { window.setTimeout(poll, INTERVAL_MS * 3); return; }
        show("progress-rows", body.rows);
        show("progress-pages", body.pages);
        show("progress-elapsed", body.elapsed_seconds);
        if (body.status === "running") window.setTimeout(poll, INTERVAL_MS);
        else window.location.assign(body.url || runUrl);
      })
      .catch(function () { window.setTimeout(poll, INTERVAL_MS * 3); });
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
