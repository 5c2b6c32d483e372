// The console's behaviour, kept out of the pages so the CSP can forbid inline script:
// the CSRF header on htmx requests, refusals shown beside their form, the daily chart,
// confirmations, the file upload and the copy button.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrf;
  });

  // A refused htmx request (bad input, a group already resolved) names the problem beside the
  // form that sent it instead of leaving the page silent.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status < 400 || status === 401) { return; }
    var group = event.detail.elt.closest && event.detail.elt.closest("[data-testid=question-group]");
    var box = group && group.querySelector("[data-testid=question-error]");
    if (!box) { return; }
    var answer = {};
    try { answer = JSON.parse(event.detail.xhr.responseText); } catch (ignored) { answer = {}; }
    box.textContent = answer.error || ("Не получилось: ошибка " + status + ".");
    event.detail.shouldSwap = false;
    event.detail.isError = false;  // shown to the owner: htmx need not report it again
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.classList && form.classList.contains("confirm") && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  function drawChart() {
    var box = document.getElementById("daily-chart");
    if (!box || typeof uPlot === "undefined") { return; }
    var data = JSON.parse(box.dataset.chart);
    var n = data.days.length;
    var xs = [];
    for (var i = 0; i < n; i++) { xs.push(i); }
    // Stacked bars: each series is drawn as the running total, bottom first.
    var a = data.answered, c = [], h = [];
    for (var j = 0; j < n; j++) { c.push(a[j] + data.clarified[j]); h.push(c[j] + data.handed_over[j]); }
    var bars = uPlot.paths.bars({ size: [0.6, 40] });
    function series(label, color) { return { label: label, fill: color, stroke: color, paths: bars, points: { show: false } }; }
    var chart = new uPlot({
      width: box.clientWidth || 600,
      height: 260,
      legend: { show: false },
      scales: { x: { time: false, range: [-0.5, n - 0.5] }, y: { range: function (u, lo, hi) { return [0, Math.max(1, hi)]; } } },
      axes: [
        { values: function (u, ticks) { return ticks.map(function (t) { return data.days[t] || ""; }); }, incrs: [1, 2, 5, 7] },
        {}
      ],
      series: [{}, series("передан человеку", "#e0605a"), series("с уточнением", "#f2b84b"), series("ответил бот", "#4caf7a")]
    }, [xs, h, c, a], box);
    window.addEventListener("resize", function () { chart.setSize({ width: box.clientWidth, height: 260 }); });
  }

  function setUpUpload() {
    var zone = document.getElementById("dropzone");
    if (!zone) { return; }
    var input = document.getElementById("upload-input");
    var button = document.getElementById("upload-button");
    var bar = document.getElementById("upload-progress");
    var result = document.getElementById("upload-result");

    function send(files) {
      if (!files.length) { result.textContent = "Выберите хотя бы один файл."; return; }
      var body = new FormData();
      for (var i = 0; i < files.length; i++) { body.append("files", files[i], files[i].name); }
      var request = new XMLHttpRequest();
      request.open("POST", "/console/knowledge/upload");
      request.setRequestHeader("X-CSRF-Token", csrf);
      bar.hidden = false; bar.value = 0;
      result.textContent = "Загружаем…";
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
      });
      request.addEventListener("load", function () {
        var answer = {};
        try { answer = JSON.parse(request.responseText); } catch (ignored) { answer = {}; }
        if (request.status === 200) {
          result.textContent = "Загружено: " + Object.keys(answer.uploaded || {}).join(", ") + ". База пересобирается.";
          window.setTimeout(function () { window.location.reload(); }, 800);
        } else {
          result.textContent = "Не загружено: " + (answer.error || ("ошибка " + request.status));
        }
      });
      request.addEventListener("error", function () { result.textContent = "Сеть недоступна, попробуйте ещё раз."; });
      request.send(body);
    }

    button.addEventListener("click", function () { send(input.files); });
    zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault(); zone.classList.remove("over");
      send(e.dataTransfer.files);
    });
  }

  // «Скопировать» puts the text of the field it names on the clipboard; where the clipboard is
  // closed (a page over plain http) the text is selected for the owner to copy by hand.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) { return; }
    var field = document.getElementById(button.dataset.copy);
    var said = button.parentNode.parentNode.querySelector(".copy-result");
    field.focus();
    field.select();
    function tell(text) { if (said) { said.textContent = text; } }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { tell("Скопировано. Вставьте адрес в кабинете TalkMe."); },
        function () { tell("Адрес выделен: скопируйте его (Ctrl+C или долгое нажатие)."); }
      );
    } else {
      tell(document.execCommand("copy") ? "Скопировано. Вставьте адрес в кабинете TalkMe."
        : "Адрес выделен: скопируйте его (Ctrl+C или долгое нажатие).");
    }
  });

  document.addEventListener("DOMContentLoaded", function () { drawChart(); setUpUpload(); });
})();
