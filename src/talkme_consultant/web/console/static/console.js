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

  // The y axis ends on a round step at or above the tallest bar, with whole-number ticks.
  function axisTop(tallest) {
    var steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
    var top = Math.max(1, tallest);
    for (var k = 0; k < steps.length; k++) {
      if (top / steps[k] <= 5) { return { max: Math.ceil(top / steps[k]) * steps[k], step: steps[k] }; }
    }
    var step = Math.pow(10, Math.ceil(Math.log10(top / 5)));
    return { max: Math.ceil(top / step) * step, step: step };
  }

  function drawChart() {
    var box = document.getElementById("daily-chart");
    if (!box || typeof uPlot === "undefined") { return; }
    var data = JSON.parse(box.dataset.chart);
    var n = data.days.length;
    var xs = [];
    for (var i = 0; i < n; i++) { xs.push(i); }
    // Stacked bars: each series is drawn as the running total, bottom first; the legend under
    // the cursor shows each series' own count, not the running total.
    var a = data.answered, c = [], h = [];
    for (var j = 0; j < n; j++) { c.push(a[j] + data.clarified[j]); h.push(c[j] + data.handed_over[j]); }
    var axis = axisTop(Math.max.apply(null, h.concat([0])));
    box.dataset.yMax = String(axis.max);
    var bars = uPlot.paths.bars({ size: [0.6, 40] });
    function series(label, color, own) {
      return {
        label: label, fill: color, stroke: color, paths: bars, points: { show: false },
        value: function (u, v, s, idx) { return idx == null ? "—" : String(own[idx]); }
      };
    }
    var chart = new uPlot({
      width: box.clientWidth || 600,
      height: 260,
      legend: { show: true, live: true },
      cursor: { points: { show: false }, y: false },
      scales: { x: { time: false, range: [-0.5, n - 0.5] }, y: { range: function () { return [0, axis.max]; } } },
      axes: [
        { values: function (u, ticks) { return ticks.map(function (t) { return data.days[t] || ""; }); }, incrs: [1, 2, 5, 7] },
        { splits: function () { var out = []; for (var t = 0; t <= axis.max; t += axis.step) { out.push(t); } return out; },
          values: function (u, ticks) { return ticks.map(function (t) { return String(t); }); } }
      ],
      series: [
        { label: "День", value: function (u, v, s, idx) { return idx == null ? "—" : data.days[idx]; } },
        series("передан человеку", "#e0605a", data.handed_over),
        series("с уточнением", "#f2b84b", data.clarified),
        series("бот вёл сам", "#4caf7a", a)
      ]
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
    var resultText = document.getElementById("upload-result-text");

    // The result stays until the owner closes it: the lists below are fetched again instead
    // of reloading the page, so the line that says what happened is not lost.
    function say(text, failed) {
      resultText.textContent = text;
      result.classList.toggle("bad", !!failed);
      result.hidden = false;
    }
    document.getElementById("upload-result-close").addEventListener("click", function () {
      result.hidden = true;
    });

    function refreshLists() {
      if (!window.htmx) { window.location.reload(); return; }
      window.htmx.ajax("GET", "/console/knowledge/files", { target: "#kb-files", swap: "outerHTML" });
      window.htmx.ajax("GET", "/console/knowledge/status", { target: "#kb-status", swap: "outerHTML" });
    }

    function records(count) {
      var last = count % 10, lastTwo = count % 100;
      if (last === 1 && lastTwo !== 11) { return count + " запись"; }
      if (last >= 2 && last <= 4 && (lastTwo < 12 || lastTwo > 14)) { return count + " записи"; }
      return count + " записей";
    }

    function send(files) {
      if (!files.length) { say("Выберите хотя бы один файл.", true); return; }
      var body = new FormData();
      for (var i = 0; i < files.length; i++) { body.append("files", files[i], files[i].name); }
      var request = new XMLHttpRequest();
      request.open("POST", "/console/knowledge/upload");
      request.setRequestHeader("X-CSRF-Token", csrf);
      bar.hidden = false; bar.value = 0;
      say("Загружаем…", false);
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
      });
      request.addEventListener("load", function () {
        var answer = {};
        try { answer = JSON.parse(request.responseText); } catch (ignored) { answer = {}; }
        bar.hidden = true;
        if (request.status === 200) {
          var uploaded = answer.uploaded || {};
          var parts = Object.keys(uploaded).map(function (name) {
            return name === "cases.jsonl" ? name + " (проверочные вопросы)" : name + " — " + records(uploaded[name]);
          });
          say("Загружено: " + parts.join(", ") + ". База пересобирается, бот начнёт отвечать по новым файлам через несколько секунд.", false);
          refreshLists();
        } else {
          say("Не загружено: " + (answer.error || ("ошибка " + request.status)), true);
        }
      });
      request.addEventListener("error", function () { bar.hidden = true; say("Сеть недоступна, попробуйте ещё раз.", true); });
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

  // A table read as cards on a phone heads each cell with its column's name.
  function labelCells(root) {
    var tables = root.querySelectorAll("table.list");
    for (var t = 0; t < tables.length; t++) {
      var heads = tables[t].querySelectorAll("thead th");
      if (!heads.length) { continue; }
      var rows = tables[t].querySelectorAll("tbody tr");
      for (var r = 0; r < rows.length; r++) {
        var cells = rows[r].children;
        for (var c = 0; c < cells.length && c < heads.length; c++) {
          if (!cells[c].hasAttribute("data-label")) { cells[c].setAttribute("data-label", heads[c].textContent.trim()); }
        }
      }
    }
  }

  document.addEventListener("DOMContentLoaded", function () { drawChart(); setUpUpload(); labelCells(document); });
  document.addEventListener("htmx:afterSwap", function () { labelCells(document); });
})();
