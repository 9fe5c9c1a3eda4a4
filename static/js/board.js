/* The projected board: applies the event's live messages to the tiles. Plain JS, no build step. */
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var data = board.dataset;
  var PER_PAGE = 15;
  var ROTATE_MS = 12000;
  var lastId = parseInt(data.lastEventId, 10) || 0;
  var raised = parseInt(data.raisedFen, 10) || 0;
  var page = 0;
  var rotateTimer = null;

  function $(id) { return document.getElementById(id); }
  function allTiles() { return Array.prototype.slice.call(document.querySelectorAll(".tile")); }
  function tileOf(wish) {
    if (!wish) return null;
    return allTiles().filter(function (t) { return t.dataset.wish === wish; })[0] || null;
  }
  function text(el, value) { if (el) el.textContent = value; }
  function money(fen) { return data.currencySymbol + Math.round(fen / 100).toLocaleString("en-US"); }
  function show(id, on) { var el = $(id); if (el) el.classList.toggle("is-shown", on); }

  function pages() { return Math.max(1, Math.ceil(allTiles().length / PER_PAGE)); }
  function showPage(n) {
    page = ((n % pages()) + pages()) % pages();
    allTiles().forEach(function (t, i) { t.classList.toggle("is-hidden", Math.floor(i / PER_PAGE) !== page); });
    text($("pages"), pages() > 1 ? (page + 1) + " / " + pages() : "");
  }
  function rotate() {
    if (rotateTimer) clearInterval(rotateTimer);
    if (pages() > 1) rotateTimer = setInterval(function () { showPage(page + 1); }, ROTATE_MS);
  }
  function bringIntoView(tile) {
    var index = allTiles().indexOf(tile);
    if (index >= 0 && Math.floor(index / PER_PAGE) !== page) { showPage(Math.floor(index / PER_PAGE)); rotate(); }
  }

  function count() {
    var tiles = allTiles();
    var claimed = tiles.filter(function (t) { return t.classList.contains("is-claimed"); }).length;
    text($("claimed"), claimed);
    text($("total"), tiles.length);
    show("celebrate-screen", tiles.length > 0 && claimed === tiles.length);
  }
  function tick(line) {
    var ticker = $("ticker");
    if (!ticker) return;
    var li = document.createElement("li");
    li.textContent = line;
    ticker.insertBefore(li, ticker.firstChild);
    while (ticker.children.length > 8) ticker.removeChild(ticker.lastChild);
  }
  function claimerText(msg) {
    var name = msg.public_name || data.anonymous;
    return msg.paddle ? name + " · " + data.paddleLabel + " " + msg.paddle : name;
  }
  function setClaimed(tile, msg) {
    tile.classList.add("is-claimed");
    tile.classList.remove("is-offered");
    tile.classList.remove("is-fresh");
    void tile.offsetWidth; /* restart the flip animation */
    tile.classList.add("is-fresh");
    text(tile.querySelector(".tile-claimer"), claimerText(msg));
    text(tile.querySelector(".tile-offer"), "");
  }

  var handlers = {
    claim: function (msg) {
      var tile = tileOf(msg.wish);
      if (!tile) return;
      setClaimed(tile, msg);
      bringIntoView(tile);
      tick(claimerText(msg) + " " + data.claimedLabel + " “" + tile.querySelector(".tile-wish").textContent + "”");
      count();
    },
    fulfil: function (msg) {
      var tile = tileOf(msg.wish);
      if (tile && !tile.classList.contains("is-claimed")) setClaimed(tile, msg);
      count();
    },
    release: function (msg) {
      var tile = tileOf(msg.wish);
      if (!tile) return;
      tile.classList.remove("is-claimed", "is-fresh");
      text(tile.querySelector(".tile-claimer"), "");
      tile.classList.toggle("is-offered", !!msg.offered_to);
      text(tile.querySelector(".tile-offer"), msg.offered_to ? data.offeredLabel + " " + msg.offered_to : "");
      count();
    },
    donation: function (msg) {
      raised += msg.amount_fen || 0;
      text($("raised"), money(raised));
      tick((msg.paddle ? data.paddleLabel + " " + msg.paddle + " " : "") + data.pledgeLabel + " " + money(msg.amount_fen || 0));
    },
    spotlight: function (msg) {
      var tile = tileOf(msg.wish);
      var card = $("spotlight-card");
      if (!tile || !card) { show("spotlight-screen", false); return; }
      card.textContent = "";
      var h2 = document.createElement("h2");
      h2.textContent = tile.querySelector(".tile-wish").textContent;
      var p = document.createElement("p");
      p.textContent = tile.querySelector(".tile-child").textContent;
      card.appendChild(h2);
      card.appendChild(p);
      show("spotlight-screen", true);
    },
    pause: function () { document.body.classList.add("is-paused"); },
    resume: function () { document.body.classList.remove("is-paused"); },
    close: function () { show("spotlight-screen", false); show("thanks-screen", true); }
  };

  function connect() {
    var url = data.streamUrl + (lastId ? "?last_event_id=" + lastId : "");
    var source = new EventSource(url);
    source.addEventListener("open", function () { board.dataset.live = "1"; });
    source.addEventListener("error", function () { board.dataset.live = "0"; });
    Object.keys(handlers).forEach(function (kind) {
      source.addEventListener(kind, function (e) {
        var id = parseInt(e.lastEventId, 10);
        if (id && id <= lastId) return; /* already applied */
        if (id) lastId = id;
        var msg = {};
        try { msg = JSON.parse(e.data); } catch (err) { return; }
        handlers[kind](msg);
        board.dataset.lastEventId = String(lastId);
      });
    });
  }

  showPage(0);
  rotate();
  count();
  connect();
})();
