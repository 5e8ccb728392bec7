// preuve console: follows a running job (re-hunt, new device) until it ends. Nothing else runs here.
"use strict";
(function () {
  var box = document.getElementById("job");
  if (!box) { return; }
  var id = box.getAttribute("data-job");
  function text(selector, value) { var el = box.querySelector(selector); if (el) { el.textContent = value || ""; } }
  function poll() {
    fetch("/job/" + encodeURIComponent(id) + ".json", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        box.setAttribute("data-state", job.state);
        text(".state", job.state);
        text(".step", job.step);
        text(".outcome", job.outcome);
        text(".error", job.error);
        var bar = box.querySelector("progress");
        if (bar) { bar.max = job.total || 1; bar.value = job.done; }
        if (job.state !== "done" && job.state !== "failed") { setTimeout(poll, 400); }
      })
      .catch(function () { setTimeout(poll, 1500); });
  }
  if (box.getAttribute("data-state") !== "done" && box.getAttribute("data-state") !== "failed") { poll(); }
})();
