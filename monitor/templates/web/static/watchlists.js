// The watchlists page's filter box: hide the rows that do not hold every typed word (the server does the
// same with ?q= when the form is submitted, so the page works without JavaScript).
(function () {
  "use strict";
  var box = document.getElementById("wl-q");
  if (!box) { return; }
  var rows = document.querySelectorAll(box.dataset.filter);
  box.addEventListener("input", function () {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    rows.forEach(function (row) {
      var text = row.dataset.text || "";
      row.classList.toggle("hidden", !words.every(function (w) { return text.indexOf(w) !== -1; }));
    });
  });
})();
