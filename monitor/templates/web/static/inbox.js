// The inbox's keyboard, as feed readers have it: j/k move, o (or Enter) opens and marks read, s stars, x selects.
// Every action is also a plain form on the page (POST with the CSRF token), so the inbox works without this file;
// here the same forms are posted in the background, so the page and the current row stay where they are.
(function () {
  "use strict";
  var list = document.getElementById("inbox");
  if (!list) { return; }
  var rows = Array.prototype.slice.call(list.querySelectorAll("li.story"));
  var current = -1;

  function move(to) {
    if (!rows.length) { return; }
    to = Math.max(0, Math.min(rows.length - 1, to));
    if (current >= 0) { rows[current].classList.remove("current"); }
    current = to;
    rows[current].classList.add("current");
    rows[current].scrollIntoView({ block: "nearest" });
  }

  // Posts a row's form; resolves true when the server took it (it answers with a redirect). The attribute,
  // not form.action: the form's input named "action" shadows that property.
  function post(form) {
    var body = new URLSearchParams(new FormData(form));
    return fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin", redirect: "manual" })
      .then(function (r) { return r.type === "opaqueredirect" || r.ok; })
      .catch(function () { return false; });
  }

  function setRead(row, read) {
    var form = row.querySelector("form.read");
    row.classList.toggle("unread", !read);
    form.querySelector("input[name=action]").value = read ? "unread" : "read";
    form.querySelector("button").textContent = read ? "mark unread" : "mark read";
  }

  function setStar(row, starred) {
    var form = row.querySelector("form.star");
    var button = form.querySelector("button");
    row.classList.toggle("starred", starred);
    form.querySelector("input[name=action]").value = starred ? "unstar" : "star";
    button.textContent = starred ? "\u2605" : "\u2606";
    button.setAttribute("aria-pressed", starred ? "true" : "false");
  }

  function open(row) {
    var href = row.querySelector("a.title").getAttribute("href");
    if (!row.classList.contains("unread")) { window.location.href = href; return; }
    var form = row.querySelector("form.read");
    form.querySelector("input[name=action]").value = "read";
    post(form).then(function () { window.location.href = href; });
  }

  function star(row) {
    var form = row.querySelector("form.star");
    var starring = form.querySelector("input[name=action]").value === "star";
    post(form).then(function (ok) { if (ok) { setStar(row, starring); } });
  }

  rows.forEach(function (row, index) {
    row.querySelector("a.title").addEventListener("click", function (event) {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
      event.preventDefault();
      move(index);
      open(row);
    });
    row.querySelector("form.star").addEventListener("submit", function (event) {
      event.preventDefault();
      move(index);
      star(row);
    });
    row.querySelector("form.read").addEventListener("submit", function (event) {
      var form = event.target;
      var reading = form.querySelector("input[name=action]").value === "read";
      event.preventDefault();
      post(form).then(function (ok) { if (ok) { setRead(row, reading); } });
    });
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(target.tagName) && target.type !== "checkbox") { return; }
    var row = current >= 0 ? rows[current] : null;
    switch (event.key) {
      case "j": move(current + 1); break;
      case "k": move(current < 0 ? 0 : current - 1); break;
      case "o": case "Enter": if (row) { open(row); } else { return; } break;
      case "s": if (row) { star(row); } else { return; } break;
      case "x":
        if (row) { var box = row.querySelector("input.select"); box.checked = !box.checked; } else { return; }
        break;
      default: return;
    }
    event.preventDefault();
  });
})();
