// Polls a job's status while it runs, then reloads the page to show its result or its errors.
(function () {
  var el = document.getElementById("job");
  if (!el || el.dataset.finished === "1") return;
  var bar = document.getElementById("job-progress"), status = document.getElementById("job-status"),
      msg = document.getElementById("job-message");
  function poll() {
    fetch(el.dataset.statusUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (j) {
      bar.value = j.progress; status.textContent = j.status_label; msg.textContent = j.message_text;
      if (j.finished) { window.location.reload(); } else { setTimeout(poll, 1000); }
    }).catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
