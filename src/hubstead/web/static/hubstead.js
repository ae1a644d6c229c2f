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

// the model page's inference widget: one call to /models/{id}, results as bars, entities marked, text streamed
(function () {
  "use strict";
  function bars(out, rows) {
    out.textContent = "";
    rows.forEach(function (row) {
      var line = document.createElement("div"); line.className = "widget-bar";
      var label = document.createElement("span"); label.className = "widget-label"; label.textContent = row.label;
      var meter = document.createElement("meter"); meter.min = 0; meter.max = 1; meter.value = row.score;
      var score = document.createElement("span"); score.className = "widget-score"; score.textContent = row.score.toFixed(3);
      line.append(label, meter, score); out.appendChild(line);
    });
  }
  function entities(out, text, found) {
    out.textContent = ""; var at = 0;
    found.forEach(function (e) {
      out.append(document.createTextNode(text.slice(at, e.start)));
      var mark = document.createElement("mark"); mark.textContent = text.slice(e.start, e.end); mark.title = e.entity_group || e.entity;
      out.appendChild(mark); at = e.end;
    });
    out.append(document.createTextNode(text.slice(at)));
  }
  function show(out, task, text, body) {
    if (task === "text-classification") { bars(out, body[0]); }
    else if (task === "image-classification") { bars(out, body); }
    else if (task === "zero-shot-classification") { bars(out, body); }
    else if (task === "fill-mask") { bars(out, body.map(function (r) { return { label: r.token_str, score: r.score }; })); }
    else if (task === "token-classification") { entities(out, text, body); }
    else if (task === "sentence-similarity") { bars(out, body.map(function (s, i) { return { label: "#" + (i + 1), score: s }; })); }
    else if (task === "question-answering") { bars(out, [{ label: body.answer, score: body.score }]); }
    else if (task === "summarization") { out.textContent = body[0].summary_text; }
    else if (task === "translation") { out.textContent = body[0].translation_text; }
    else if (task === "automatic-speech-recognition") { out.textContent = body.text; }
    else { out.textContent = JSON.stringify(body).slice(0, 2000); }
  }
  function stream(out, url, text) {
    out.textContent = "";
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ inputs: text, parameters: { max_new_tokens: 40 }, stream: true }) })
      .then(function (response) {
        if (!response.ok) { return response.json().then(function (b) { throw new Error(b.error); }); }
        var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) { return; }
            buffer += decoder.decode(chunk.value, { stream: true });
            var events = buffer.split("\n\n"); buffer = events.pop();
            events.forEach(function (event) {
              if (event.indexOf("data:") !== 0) { return; }
              var data = JSON.parse(event.slice(5));
              if (data.token && !data.token.special) { out.textContent += data.token.text; }
            });
            return pump();
          });
        }
        return pump();
      });
  }
  document.addEventListener("submit", function (event) {
    var widget = event.target.closest("[data-inference-widget]");
    if (!widget) { return; }
    event.preventDefault();
    var form = event.target, out = widget.querySelector(".widget-output");
    var url = widget.dataset.url, task = widget.dataset.task, kind = widget.dataset.input;
    var text = form.text ? form.text.value : "";
    out.textContent = "Computing\u2026"; out.classList.remove("error");
    var done;
    if (task === "text-generation") { done = stream(out, url, text); }
    else {
      var init = { method: "POST", headers: { "Content-Type": "application/json", "X-Wait-For-Model": "true" } };
      if (kind === "file") { init.body = form.file.files[0]; init.headers = { "Content-Type": "application/octet-stream" }; }
      else if (kind === "qa") { init.body = JSON.stringify({ inputs: { question: text, context: form.context.value } }); }
      else if (kind === "labels") { init.body = JSON.stringify({ inputs: text, parameters: { candidate_labels: form.labels.value.split(",").map(function (s) { return s.trim(); }) } }); }
      else if (kind === "sentences") { init.body = JSON.stringify({ inputs: { source_sentence: text, sentences: form.sentences.value.split("\n").filter(Boolean) } }); }
      else { init.body = JSON.stringify({ inputs: text }); }
      done = fetch(url, init).then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.error + (body.estimated_time ? " (about " + body.estimated_time + " s)" : "")); }
          show(out, task, text, body);
        });
      });
    }
    done.catch(function (error) { out.textContent = error.message; out.classList.add("error"); });
  });
})();
