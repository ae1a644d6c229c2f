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

// The dataset viewer: pages the rows of a split from /datasets-server/, searches, filters and sorts them.
(function () {
  "use strict";
  var root = document.querySelector("[data-viewer][data-viewer-state='ready']");
  if (!root) { return; }
  var PAGE = 25;
  var dataset = root.getAttribute("data-dataset");
  var $ = function (sel) { return root.querySelector(sel); };
  var state = { config: null, split: null, offset: 0, total: 0, query: "", where: "", orderby: "" };

  function api(path, params) {
    var q = new URLSearchParams(params);
    q.set("dataset", dataset);
    return fetch("/datasets-server/" + path + "?" + q.toString(), { credentials: "same-origin" }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body.error || ("HTTP " + r.status)); }
        return body;
      });
    });
  }

  function fail(error) {
    var box = $("[data-viewer-failed]");
    box.textContent = error.message;
    box.hidden = false;
  }

  function typeName(type) {
    if (!type) { return ""; }
    if (type._type === "Value") { return type.dtype; }
    if (type._type === "ClassLabel") { return "class label"; }
    if (type._type === "List" || type._type === "Sequence") { return "list"; }
    return type._type ? type._type.toLowerCase() : "dict";
  }

  function cell(value, type) {
    var td = document.createElement("td");
    if (value && typeof value === "object" && typeof value.src === "string") {
      var media;
      if (value.src.indexOf("data:audio/") === 0) {
        media = document.createElement("audio");
        media.controls = true;
        media.preload = "none";
      } else {
        media = document.createElement("img");
        media.alt = "";
        media.loading = "lazy";
      }
      media.src = value.src;
      td.appendChild(media);
      return td;
    }
    var text = value === null || value === undefined ? "null" : typeof value === "object" ? JSON.stringify(value) : String(value);
    if (type && type._type === "ClassLabel" && type.names && type.names[value] !== undefined) {
      text = type.names[value] + " (" + value + ")";
    }
    var span = document.createElement("span");
    span.className = "clip";
    span.title = "Click to expand";
    span.textContent = text;
    td.appendChild(span);
    return td;
  }

  function render(page) {
    var thead = $("[data-viewer-table] thead"), tbody = $("[data-viewer-table] tbody");
    thead.textContent = "";
    tbody.textContent = "";
    var head = document.createElement("tr");
    var idx = document.createElement("th");
    idx.textContent = "#";
    head.appendChild(idx);
    page.features.forEach(function (f) {
      var th = document.createElement("th");
      th.textContent = f.name;
      var t = document.createElement("span");
      t.className = "type";
      t.textContent = typeName(f.type);
      th.appendChild(t);
      head.appendChild(th);
    });
    thead.appendChild(head);
    page.rows.forEach(function (r) {
      var tr = document.createElement("tr");
      var i = document.createElement("td");
      i.className = "idx";
      i.textContent = r.row_idx;
      tr.appendChild(i);
      page.features.forEach(function (f) { tr.appendChild(cell(r.row[f.name], f.type)); });
      tbody.appendChild(tr);
    });
    state.total = page.num_rows_total;
    var last = Math.min(state.offset + page.rows.length, state.total);
    $("[data-viewer-page]").textContent = state.total ? (state.offset + 1) + "–" + last + " of " + state.total.toLocaleString() : "No rows";
    $("[data-viewer-prev]").disabled = state.offset === 0;
    $("[data-viewer-next]").disabled = last >= state.total;
    var sort = $("[data-viewer-orderby]");
    if (sort.options.length === 1) {
      page.features.forEach(function (f) {
        ["ASC", "DESC"].forEach(function (dir) {
          var o = document.createElement("option");
          o.value = '"' + f.name.replace(/"/g, '""') + '" ' + dir;
          o.textContent = "Sort: " + f.name + (dir === "ASC" ? " ↑" : " ↓");
          sort.appendChild(o);
        });
      });
    }
  }

  function load() {
    $("[data-viewer-failed]").hidden = true;
    var params = { config: state.config, split: state.split, offset: state.offset, length: PAGE };
    var request;
    if (state.query) {
      params.query = state.query;
      request = api("search", params);
    } else if (state.where || state.orderby) {
      if (state.where) { params.where = state.where; }
      if (state.orderby) { params.orderby = state.orderby; }
      request = api("filter", params);
    } else {
      request = api("rows", params);
    }
    request.then(render, fail);
  }

  function stats() {
    var box = $("[data-viewer-stats]");
    box.textContent = "";
    api("statistics", { config: state.config, split: state.split }).then(function (body) {
      body.statistics.forEach(function (s) {
        var div = document.createElement("div");
        div.className = "viewer-stat";
        var h = document.createElement("h3");
        h.textContent = s.column_name + " · " + s.column_type;
        div.appendChild(h);
        var c = s.column_statistics, lines = [];
        if (c.min !== undefined) { lines.push("min " + c.min + ", max " + c.max + ", mean " + c.mean); }
        lines.push("nulls " + c.nan_count);
        if (c.frequencies) {
          Object.keys(c.frequencies).slice(0, 5).forEach(function (k) { lines.push(k + ": " + c.frequencies[k]); });
        }
        lines.forEach(function (l) { var p = document.createElement("div"); p.textContent = l; div.appendChild(p); });
        if (c.histogram && c.histogram.hist) {
          var bars = document.createElement("div");
          bars.className = "viewer-bars";
          var top = Math.max.apply(null, c.histogram.hist) || 1;
          c.histogram.hist.forEach(function (n) {
            var b = document.createElement("span");
            b.className = "h" + Math.round((n / top) * 10);
            b.title = String(n);
            bars.appendChild(b);
          });
          div.appendChild(bars);
        }
        box.appendChild(div);
      });
    }, fail);
  }

  function choose(value) {
    var parts = value.split("\u0000");
    state.config = parts[0];
    state.split = parts[1];
    state.offset = 0;
    var sort = $("[data-viewer-orderby]");
    while (sort.options.length > 1) { sort.remove(1); }
    load();
    if (!$("[data-viewer-stats]").hidden) { stats(); }
  }

  api("splits", {}).then(function (body) {
    var select = $("[data-viewer-split]");
    body.splits.forEach(function (s) {
      var o = document.createElement("option");
      o.value = s.config + "\u0000" + s.split;
      o.textContent = s.config + " / " + s.split;
      select.appendChild(o);
    });
    api("size", {}).then(function (size) {
      var d = size.size.dataset;
      $("[data-viewer-count]").textContent = d.num_rows.toLocaleString() + " rows · " + d.num_bytes_parquet_files.toLocaleString() + " bytes of parquet";
    }, function () {});
    if (body.failed.length) { fail(new Error("Failed subsets: " + body.failed.map(function (f) { return f.config + " (" + f.error.error + ")"; }).join("; "))); }
    if (select.options.length) { choose(select.value); }
  }, fail);

  root.addEventListener("change", function (event) {
    if (event.target.matches("[data-viewer-split]")) { choose(event.target.value); }
  });
  root.addEventListener("click", function (event) {
    var t = event.target;
    if (t.matches(".clip")) { t.classList.toggle("open"); }
    if (t.matches("[data-viewer-prev]")) { state.offset = Math.max(0, state.offset - PAGE); load(); }
    if (t.matches("[data-viewer-next]")) { state.offset += PAGE; load(); }
    if (t.matches("[data-viewer-reset]")) {
      $("[data-viewer-tools]").reset();
      state.query = state.where = state.orderby = "";
      state.offset = 0;
      load();
    }
    if (t.matches("[data-viewer-stats-toggle]")) {
      var box = $("[data-viewer-stats]");
      box.hidden = !box.hidden;
      if (!box.hidden) { stats(); }
    }
  });
  $("[data-viewer-tools]").addEventListener("submit", function (event) {
    event.preventDefault();
    state.query = $("[data-viewer-query]").value.trim();
    state.where = $("[data-viewer-where]").value.trim();
    state.orderby = $("[data-viewer-orderby]").value;
    state.offset = 0;
    load();
  });
})();
