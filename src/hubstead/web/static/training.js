// Hubstead training job page: redraws the state, progress, loss curves and log from the job's JSON while it runs.
(function () {
  "use strict";
  var page = document.querySelector("[data-training-job]");
  if (!page) { return; }
  var id = page.getAttribute("data-training-job");
  var WIDTH = 600, HEIGHT = 200;

  function draw(points) {
    var names = ["loss", "eval_loss"], all = [], lastStep = 0;
    names.forEach(function (name) {
      points.forEach(function (p) {
        if (typeof p[name] === "number" && typeof p.step === "number") { all.push(p[name]); lastStep = Math.max(lastStep, p.step); }
      });
    });
    if (!all.length) { return; }
    var top = Math.max.apply(null, all), bottom = Math.min(0, Math.min.apply(null, all));
    var span = (top - bottom) || 1, last = lastStep || 1;
    names.forEach(function (name) {
      var line = page.querySelector('[data-series="' + name + '"]');
      var coords = points.filter(function (p) { return typeof p[name] === "number" && typeof p.step === "number"; })
        .map(function (p) {
          return (p.step / last * WIDTH).toFixed(1) + "," + (HEIGHT - (p[name] - bottom) / span * HEIGHT).toFixed(1);
        });
      if (line) { line.setAttribute("points", coords.join(" ")); }
    });
  }

  function refresh() {
    fetch("/api/hubstead/training/jobs/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) { return; }
        var state = page.querySelector("[data-job-state]");
        if (state) { state.textContent = job.state + (job.cancelRequested && ["queued", "running"].indexOf(job.state) >= 0 ? " (cancelling)" : ""); }
        var progress = page.querySelector("[data-progress]");
        if (progress) { progress.value = job.progress; }
        var message = page.querySelector("[data-progress-message]");
        if (message) { message.textContent = job.progressMessage; }
        var error = page.querySelector("[data-job-error]");
        if (error) { error.textContent = job.error || "—"; }
        var log = page.querySelector("[data-job-log]");
        if (log) { log.textContent = job.log || "(empty)"; }
        draw(job.metrics || []);
        var done = ["succeeded", "failed", "cancelled"].indexOf(job.state) >= 0;
        page.setAttribute("data-finished", done ? "true" : "false");
        if (!done) { setTimeout(refresh, 2000); }
      })
      .catch(function () { setTimeout(refresh, 5000); });
  }

  if (page.getAttribute("data-finished") !== "true") { setTimeout(refresh, 1000); }
})();
