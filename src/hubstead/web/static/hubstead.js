// Hubstead: a little progressive enhancement. Every page works without it.
(function () {
  "use strict";

  function copyText(text, button) {
    var done = function () {
      var old = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = old; }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* nothing to do */ }
      document.body.removeChild(area);
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-from]");
    if (!button) { return; }
    var text = button.getAttribute("data-copy");
    if (text === null) {
      var source = button.nextElementSibling;
      text = source ? source.textContent : "";
    }
    copyText(text, button);
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) { event.target.form.submit(); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    var mustEqual = form.querySelector("[data-must-equal]");
    if (mustEqual && mustEqual.value.trim() !== mustEqual.getAttribute("data-must-equal")) {
      event.preventDefault();
      mustEqual.setCustomValidity("Type " + mustEqual.getAttribute("data-must-equal") + " to confirm");
      mustEqual.reportValidity();
      return;
    }
    if (form.hasAttribute("data-like")) { like(form, event); }
  });

  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-must-equal]")) { event.target.setCustomValidity(""); }
  });

  function like(form, event) {
    event.preventDefault();
    var data = new FormData(form);
    fetch(form.action, { method: "POST", body: data, headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) { window.location = "/login?next=" + encodeURIComponent(window.location.pathname); return null; }
        if (!response.ok) { throw new Error("like failed"); }
        return response.json();
      })
      .then(function (body) {
        if (!body) { return; }
        var button = form.querySelector("button");
        form.querySelector("input[name=like]").value = body.liked ? "0" : "1";
        button.classList.toggle("liked", body.liked);
        button.setAttribute("aria-pressed", body.liked ? "true" : "false");
        button.querySelector(".heart").textContent = body.liked ? "\u2665" : "\u2661";
        button.querySelector(".label").textContent = body.liked ? "Liked" : "Like";
        button.querySelector(".count").textContent = body.likes;
        var stat = document.querySelector("[data-stat=likes]");
        if (stat) { stat.textContent = body.likes.toLocaleString("en"); }
      })
      .catch(function () { form.submit(); });
  }
})();
