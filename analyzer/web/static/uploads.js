// Polls the analyses while any is queued or running and updates their rows in place.
(function () {
  "use strict";
  const table = document.getElementById("uploads");
  if (!table) return;
  const cell = (row, cls) => row.querySelector("." + cls);

  function render(upload) {
    let row = table.querySelector(`tr[data-upload="${upload.id}"]`);
    if (!row) return false;  // a new upload: the next full load shows it
    const status = cell(row, "status");
    status.textContent = upload.status;
    status.className = "status " + upload.status;
    let stage = upload.error || upload.stage || "";
    if (upload.status === "running" && upload.total) stage += ` ${upload.done}/${upload.total}`;
    cell(row, "stage").textContent = stage;
    cell(row, "pages").textContent = upload.pages || "";
    cell(row, "embedded").textContent = upload.embedded || "";
    cell(row, "candidates").textContent = upload.candidates || "";
    const doc = cell(row, "doc");
    if (upload.document_id && !doc.querySelector("a")) {
      const link = document.createElement("a");
      link.href = `/review?doc=${upload.document_id}`;
      link.textContent = `review document ${upload.document_id}`;
      doc.appendChild(link);
    }
    return true;
  }

  let wasActive = false;

  async function poll() {
    let active = false;
    try {
      const response = await fetch("/api/uploads", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const data = await response.json();
      for (const upload of data.uploads) {
        render(upload);
        if (upload.status === "queued" || upload.status === "running") active = true;
      }
    } catch (e) {
      active = true;  // the server restarted; keep trying
    }
    if (active) {
      wasActive = true;
      setTimeout(poll, 700);
    } else if (wasActive) {
      window.location.reload();  // the documents table gains the finished reports
    } else {
      document.body.dataset.analysesIdle = "1";
    }
  }
  poll();
})();
