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
  // A private link selects itself whole on a tap, ready to copy.
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.hasAttribute("data-select-on-focus")) {
      target.select();
    }
  });
})();
