// Small conveniences that need no inline handlers (the Content-Security-Policy allows none).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.closest("[data-print]")) {
      window.print();
    }
  });
  // Share buttons: the phone's share sheet where there is one, else the link copied.
  var canShare = typeof navigator.share === "function";
  var canCopy = !!(navigator.clipboard && navigator.clipboard.writeText);
  document.querySelectorAll("[data-share]").forEach(function (button) {
    if (!canShare && !canCopy) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var title = button.getAttribute("data-share-title");
      var url = button.getAttribute("data-share-url");
      var status = button.parentElement.querySelector(".share-status");
      if (canShare) {
        navigator.share({ title: title, url: url }).catch(function () {});
      } else {
        navigator.clipboard.writeText(url).then(function () {
          if (status) status.textContent = button.getAttribute("data-share-copied");
        });
      }
    });
  });
  // Staff tables stack their cells on a phone: each cell keeps its column's name as a label.
  document.querySelectorAll("table.table").forEach(function (table) {
    var names = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, i) {
        if (names[i] && !cell.hasAttribute("data-label") && !cell.hasAttribute("colspan")) {
          cell.setAttribute("data-label", names[i]);
        }
      });
    });
  });
  // A private link selects itself whole on a tap, ready to copy.
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.hasAttribute("data-select-on-focus")) {
      target.select();
    }
  });
})();
