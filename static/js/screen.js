/* A campaign's projector screen: applies the campaign's live gifts. Plain JS, no build step. */
(function () {
  "use strict";
  var screen = document.getElementById("screen");
  if (!screen) return;
  var data = screen.dataset;
  var SHOW_MS = 4000;
  var lastId = parseInt(data.lastEventId, 10) || 0;
  var namesShown = parseInt(data.namesShown, 10) || 12;
  var queue = [];
  var showing = false;

  function $(id) { return document.getElementById(id); }
  function text(el, value) { if (el) el.textContent = value; }
  function money(fen) { return data.currencySymbol + Math.round(fen / 100).toLocaleString("en-US"); }

  function addName(name) {
    var list = $("screen-names");
    if (!list) return;
    var li = document.createElement("li");
    li.textContent = name;
    li.className = "is-fresh";
    list.insertBefore(li, list.firstChild);
    while (list.children.length > namesShown) list.removeChild(list.lastChild);
    var empty = $("screen-empty");
    if (empty) empty.classList.add("is-hidden");
  }

  /* The flourish: one gift at a time, each for a few seconds. */
  function celebrate(name) {
    queue.push(name);
    if (!showing) next();
  }
  function next() {
    var overlay = $("gift-screen");
    if (!overlay || !queue.length) { showing = false; if (overlay) overlay.classList.remove("is-shown"); return; }
    showing = true;
    text($("gift-name"), queue.shift());
    overlay.classList.remove("is-shown");
    void overlay.offsetWidth; /* restart the animation */
    overlay.classList.add("is-shown");
    setTimeout(next, queue.length > 3 ? SHOW_MS / 4 : SHOW_MS);
  }

  function gift(msg) {
    if (typeof msg.total_fen === "number") text($("screen-total"), money(msg.total_fen));
    if (typeof msg.count === "number") text($("screen-count"), msg.count);
    var name = screen.classList.contains("is-couples") ? (msg.name || data.anonymous) : null;
    if (name) addName(name);
    celebrate(name || data.thanks);
  }

  function connect() {
    var url = data.streamUrl + (lastId ? "?last_event_id=" + lastId : "");
    var source = new EventSource(url);
    source.addEventListener("open", function () { screen.dataset.live = "1"; });
    source.addEventListener("error", function () { screen.dataset.live = "0"; });
    source.addEventListener("gift", function (e) {
      var id = parseInt(e.lastEventId, 10);
      if (id && id <= lastId) return; /* already applied */
      if (id) lastId = id;
      var msg = {};
      try { msg = JSON.parse(e.data); } catch (err) { return; }
      gift(msg);
      screen.dataset.lastEventId = String(lastId);
    });
  }

  connect();
})();
