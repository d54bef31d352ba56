// The entry editor: post the form to /watchlists/<file>/try as the analyst types (debounced) and show
// what comes back (problems as `monitor check` prints them, tests, preview). Saving is a plain form POST.
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  var results = document.getElementById("editor-results");
  var status = document.getElementById("editor-status");
  if (!form || !results || !window.fetch) { return; }
  var timer = null;
  var sequence = 0;
  function run() {
    var mine = ++sequence;
    var body = new URLSearchParams(new FormData(form));
    status.textContent = "Checking…";
    fetch(form.dataset.try, {method: "POST", body: body, credentials: "same-origin",
                             headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        if (mine !== sequence) { return; }  // an older answer arriving after a newer one
        results.innerHTML = data.html;  // rendered and escaped by the server's templates
        status.textContent = data.problems.length ? data.problems.length + " problem(s)" :
          (data.preview ? data.preview.total + " hit(s) in the last " + data.preview.days + " days" : "checked");
        status.dataset.state = data.problems.length ? "problems" : "ok";
      })
      .catch(function (error) {
        if (mine === sequence) { status.textContent = "Could not check: " + error.message; }
      });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(run, 350);
  });
  if (form.elements.id.value) { run(); }
})();
