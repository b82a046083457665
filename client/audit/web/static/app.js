// MyKey Ledger audit explorer: small progressive enhancements; every page
// works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // The grant filters apply as soon as a select changes.
  var form = document.getElementById("grant-search");
  if (form) {
    form.querySelectorAll("select").forEach(function (sel) {
      sel.addEventListener("change", function () { form.submit(); });
    });
  }
  // "/" focuses the site search, as on many sites.
  document.addEventListener("keydown", function (e) {
    var box = document.getElementById("site-search");
    if (e.key === "/" && box && document.activeElement !== box && !(document.activeElement instanceof HTMLInputElement)) {
      e.preventDefault();
      box.focus();
    }
  });
});
