// Criterion review: the level of one criterion for one report, with the passages it rests
// on. Fetched as JSON, decisions POSTed with the CSRF token; report text only ever goes into
// textContent.
(function () {
  "use strict";
  const root = document.getElementById("crit-review-root");
  if (!root || !root.dataset.doc) return;
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const doc = root.dataset.doc;
  const skipped = [];
  const undoStack = [];
  let view = null;
  let focus = 0;
  let busy = false;

  function setStatus(value, isError) {
    const node = $("status");
    node.textContent = value;
    node.className = isError ? "flash error" : "";
  }
  function text(id, value) {
    $(id).textContent = value === null || value === undefined ? "" : String(value);
  }
  function el(tag, value, cls) {
    const node = document.createElement(tag);
    if (value !== undefined && value !== null) node.textContent = String(value);
    if (cls) node.className = cls;
    return node;
  }

  async function api(url, body) {
    const options = { headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = csrf;
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: `the server answered ${response.status}` }; }
    if (response.status === 401) window.location = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    if (!response.ok) throw new Error(data.error || `the server answered ${response.status}`);
    return data;
  }

  function progressText(p) {
    return p ? `${p.reviewed} of ${p.criteria} criteria reviewed` + (p.awaiting ? `, ${p.awaiting} awaiting a second reviewer` : "") + (p.disputed ? `, ${p.disputed} disputed` : "") : "";
  }

  async function loadNext() {
    const params = new URLSearchParams({ doc });
    if (skipped.length) params.set("skip", skipped.join(","));
    const data = await api("/api/criterion-review/next?" + params.toString());
    if (!data.view) {
      view = null;
      $("view").hidden = true;
      text("queue-empty-detail", progressText(data.progress) + (data.skipped ? `; ${data.skipped} skipped (reload to see them again)` : "") + ".");
      $("queue-empty").hidden = false;
      document.body.dataset.queueEmpty = "1";
      delete document.body.dataset.criterion;
      return;
    }
    show(data.view);
  }

  async function load(criterion) {
    const data = await api(`/api/criterion-review/${doc}/${encodeURIComponent(criterion)}`);
    show(data.view);
  }

  function show(next) {
    view = next;
    focus = 0;
    setStatus("");
    document.body.dataset.criterion = view.criterion.id;
    delete document.body.dataset.queueEmpty;
    $("queue-empty").hidden = true;
    $("view").hidden = false;
    const d = view.draft;
    text("draft-level", d.level === null ? "not assessed" : `level ${d.level}`);
    text("draft-reason", d.reason + (d.source === "classifiers" ? " (per-criterion classifiers; no pre-score)" : ""));
    text("doc-name", view.document.file_name + (view.document.company ? ` · ${view.document.company}` : ""));
    text("crit-progress", progressText(view.progress));
    text("crit-id", view.criterion.id);
    text("crit-name", view.criterion.name);
    text("crit-def", view.criterion.definition);
    const levels = $("crit-levels");
    levels.replaceChildren();
    for (const [level, meaning] of Object.entries(view.criterion.levels || {})) levels.append(el("dt", `Level ${level}`), el("dd", meaning));
    let status = view.status + (view.level === null ? "" : ` at level ${view.level}`);
    if (view.settles) status += ": your decision settles it (adjudication)";
    text("crit-status", status);
    text("crit-reviewers", view.reviewers.length ? `(by ${view.reviewers.join(", ")})` : "");
    renderPassages();
    renderHistory();
    renderPage();
  }

  function renderPassages() {
    const list = $("passages");
    list.replaceChildren();
    if (!view.passages.length) list.append(el("p", "No candidate passages: press f to search the report.", "hint"));
    view.passages.forEach((p, i) => {
      const box = el("div", null, "cr-passage" + (p.in_draft ? " in-draft" : "") + (i === focus ? " focus" : ""));
      box.dataset.passage = String(p.passage_id);
      const check = el("input");
      check.type = "checkbox";
      check.checked = p.selected;
      check.addEventListener("change", () => { p.selected = check.checked; });
      const meta = el("label", null, "meta");
      meta.append(check, ` ${p.citation}` + (p.in_draft ? " · the draft rests on it" : "") +
        (p.suggested_level === null ? "" : ` · suggested level ${p.suggested_level}`) +
        (p.candidate_status ? ` · candidate ${p.candidate_status}` : ""));
      box.append(meta);
      const quote = el("blockquote");
      for (const [chunk, inQuote, matched] of p.segments) {
        let node = matched ? el("mark", chunk, "term") : document.createTextNode(chunk);
        if (inQuote) { const span = el("span", null, "in-quote"); span.append(node); node = span; }
        quote.append(node);
      }
      box.append(quote);
      box.addEventListener("click", (e) => { if (e.target !== check) { focus = i; markFocus(); renderPage(); } });
      list.append(box);
    });
  }

  function markFocus() {
    document.querySelectorAll("#passages .cr-passage").forEach((node, i) => node.classList.toggle("focus", i === focus));
    const node = document.querySelectorAll("#passages .cr-passage")[focus];
    if (node) node.scrollIntoView({ block: "nearest" });
  }

  function renderHistory() {
    const list = $("history");
    list.replaceChildren();
    if (!view.history.length) list.append(el("li", "No decisions yet.", "empty"));
    for (const h of view.history) {
      const item = el("li", `${h.at.replace("T", " ").replace("+00:00", " UTC")} · ${h.reviewer} · ${h.action}` +
        (h.action === "undo" ? "" : ` level ${h.level} (draft ${h.draft_level === null ? "–" : h.draft_level}), ${h.passages.length} passage(s)`) +
        (h.comment ? ` · “${h.comment}”` : "") + (h.undone_by ? ` · undone by ${h.undone_by}` : ""), h.undone_by ? "undone" : "");
      list.append(item);
    }
  }

  function renderPage() {
    const p = view.passages[focus];
    const img = $("page-img");
    const boxes = $("boxes");
    boxes.replaceChildren();
    if (!p) { img.removeAttribute("src"); text("page-cite", ""); return; }
    const page = p.pages.find((x) => x.pdf_page === p.pdf_page) || p.pages[0];
    text("page-cite", `${view.document.file_name}, ${page.citation}`);
    img.alt = `${view.document.file_name}, PDF page ${page.pdf_page}`;
    img.src = `/documents/${view.document.id}/pages/${page.pdf_page}.png?scale=1.5`;
    if (!page.width || !page.height) return;
    const place = (cls) => ([x0, top, x1, bottom]) => {
      const box = el("div", null, cls);
      box.style.left = `${(100 * x0) / page.width}%`;
      box.style.top = `${(100 * top) / page.height}%`;
      box.style.width = `${(100 * (x1 - x0)) / page.width}%`;
      box.style.height = `${(100 * (bottom - top)) / page.height}%`;
      boxes.append(box);
    };
    page.boxes.forEach(place("box"));
    (page.quote_boxes || []).forEach(place("box quote"));
  }

  async function decide(level) {
    if (!view || busy) return;
    if (level === null) { setStatus("The draft is not assessed: set a level with 0, 1 or 2.", true); return; }
    const evidence = level > 0 ? view.passages.filter((p) => p.selected).map((p) => p.passage_id) : [];
    busy = true;
    const crit = view.criterion.id;
    try {
      const body = { level, evidence };
      if (view.settles) body.adjudication = true;
      const data = await api(`/api/criterion-review/${doc}/${encodeURIComponent(crit)}/decide`, body);
      undoStack.push({ decision_id: data.decision_id, criterion: crit });
      await loadNext();
      setStatus(`Saved: ${crit} at level ${level}` + (evidence.length ? ` on ${evidence.length} passage(s).` : "."));
    } catch (e) {
      setStatus(e.message, true);
    } finally {
      busy = false;
    }
  }

  async function undo() {
    const last = undoStack.pop();
    if (!last) { setStatus("Nothing of yours to undo on this page.", true); return; }
    busy = true;
    try {
      await api(`/api/criterion-decisions/${last.decision_id}/undo`, {});
      await load(last.criterion);
      setStatus(`Undone: ${last.criterion} is back.`);
    } catch (e) {
      setStatus(e.message, true);
    } finally {
      busy = false;
    }
  }

  function find() {
    const c = view.criterion;
    const params = new URLSearchParams({ q: `${c.name}. ${c.definition}`.slice(0, 2000), doc, for: c.id });
    window.open(`${$("search-link").dataset.base}?${params}`, "_blank");
  }

  function act(key) {
    if (!view) { setStatus("Every criterion here is reviewed: nothing to act on."); return; }
    if (key === "c") decide(view.draft.level);
    else if (key === "0" || key === "1" || key === "2") decide(Number(key));
    else if (key === "f") find();
    else if (key === "n") { skipped.push(view.criterion.id); loadNext().catch((e) => setStatus(e.message, true)); }
    else if (key === "u") undo();
    else if (key === "j" || key === "k") {
      focus = Math.max(0, Math.min(view.passages.length - 1, focus + (key === "j" ? 1 : -1)));
      markFocus();
      renderPage();
    } else if (key === "x" && view.passages[focus]) {
      view.passages[focus].selected = !view.passages[focus].selected;
      renderPassages();
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target && ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) && target.type !== "checkbox") return;
    if (event.key.length === 1 && "c012fnujkx".includes(event.key)) {
      event.preventDefault();
      act(event.key);
    }
  });
  for (const button of document.querySelectorAll("#view .buttons button")) {
    button.addEventListener("mousedown", (e) => e.preventDefault());
    button.addEventListener("click", () => act(button.dataset.key));
  }

  const start = root.dataset.criterion ? load(root.dataset.criterion) : loadNext();
  start.catch((e) => setStatus(e.message, true));
})();
