// The keyboard review flow: one card at a time, fetched as JSON, decisions POSTed with the
// CSRF token in a header. Report text is untrusted: it only ever goes into textContent.
(function () {
  "use strict";
  const root = document.getElementById("review");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const scope = { doc: root.dataset.doc, criterion: root.dataset.criterion, order: root.dataset.order };
  const skipped = [];
  const undoStack = [];  // [{decision_id, candidate_id}] of this page's decisions
  let card = null;
  let busy = false;
  let dialogMode = null;
  let viewPage = 1;  // the PDF page shown: the quote's page, or one the reviewer browsed to

  function setStatus(text, isError) {
    const el = $("status");
    el.textContent = text;
    el.className = isError ? "flash error" : "";
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
    try {
      data = await response.json();
    } catch (e) {
      data = { error: `the server answered ${response.status}` };
    }
    if (response.status === 401) window.location = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    if (!response.ok) throw new Error(data.error || `the server answered ${response.status}`);
    return data;
  }

  function counts(c) {
    if (!c) return "–";
    return `${c.reviewed} reviewed, ${c.remaining} remaining of ${c.items}`;
  }

  async function loadNext() {
    const params = new URLSearchParams();
    if (scope.doc) params.set("doc", scope.doc);
    if (scope.criterion) params.set("criterion", scope.criterion);
    params.set("order", scope.order);
    if (skipped.length) params.set("skip", skipped.join(","));
    const data = await api("/api/next?" + params.toString());
    if (!data.card) {
      // A clear end: the card goes (its keys with it) and the empty state says so; a status
      // message (e.g. "criterion done") shows beside it, never in its place.
      card = null;
      closeDialog();
      $("card").hidden = true;
      const done = data.progress ? counts(data.progress.document) : "";
      text("queue-empty-detail", `This document: ${done}.` + (data.skipped ? ` ${data.skipped} skipped (reload to see them again).` : ""));
      $("queue-empty").hidden = false;
      setStatus("");
      document.body.dataset.queueEmpty = "1";
      delete document.body.dataset.card;
      return;
    }
    show(data.card);
  }

  async function loadCard(id) {
    const data = await api(`/api/cards/${id}`);
    show(data.card);
  }

  function show(next) {
    card = next;
    document.body.dataset.card = String(card.candidate_id);
    delete document.body.dataset.queueEmpty;
    setStatus("");
    $("queue-empty").hidden = true;
    $("card").hidden = false;
    text("doc-name", card.document.file_name + (card.document.company ? ` · ${card.document.company}` : ""));
    text("citation", card.citation + (card.ocr ? " · text read by OCR from a scanned page" : ""));
    text("cand-id", card.candidate_id);
    text("rank", card.rank);
    text("crit-id", card.criterion.id);
    text("crit-name", card.criterion.name);
    text("crit-def", card.criterion.definition);
    const levels = $("crit-levels");
    levels.replaceChildren();
    for (const [level, meaning] of Object.entries(card.criterion.levels || {})) {
      levels.append(el("dt", `Level ${level}`), el("dd", meaning));
    }
    text("item-status", card.status);
    text("item-reviewers", card.reviewers.length ? `(by ${card.reviewers.join(", ")})` : "");
    const state = card.state;
    if (state.criterion !== card.criterion.id) text("item-status", `${card.status}, moved to ${state.criterion}`);
    if (card.settles) text("item-status", `${card.status}: your decision settles it (adjudication)`);
    const passage = $("passage");
    passage.replaceChildren();
    for (const [chunk, inQuote, matched] of card.segments) {
      // Paragraph breaks (blank lines) stay visible; single line ends flow as spaces.
      chunk.split(/\n\s*\n/).forEach((piece, i) => {
        if (i > 0) passage.append(document.createElement("br"), document.createElement("br"));
        if (!piece) return;
        let node = matched ? el("mark", piece, "term") : document.createTextNode(piece);
        if (inQuote) {
          const span = el("span", null, "in-quote");
          span.append(node);
          node = span;
        }
        passage.append(node);
      });
    }
    text("quote", card.quote);
    const similar = $("find-similar");  // search with this passage, adding for this criterion
    const query = new URLSearchParams({ q: card.segments.map((s) => s[0]).join("").slice(0, 2000), for: card.criterion.id });
    similar.href = `${similar.dataset.base}?${query}`;
    const sug = card.suggested;
    text("sug-level", sug.level);
    text("sug-level-top", sug.level);
    const draft = card.draft || {};
    text("draft-level", draft.level === null || draft.level === undefined ? "not assessed" : draft.level);
    text("draft-reason", (draft.reason ? `— ${draft.reason}` : "") + (draft.this_passage ? " (rests on this passage)" : ""));
    text("sug-reason", sug.reason);
    text("sug-cues", sug.cues && sug.cues.length ? `cues: ${sug.cues.join(", ")}` : "");
    text("score", Number(card.score).toFixed(3));
    text("scorer", card.scorer);
    text("prob", card.probability === null || card.probability === undefined ? "" : ` · model probability ${Number(card.probability).toFixed(2)}`);
    text("prog-doc", counts(card.progress.document));
    const doc = card.progress.document;
    $("prog-bar").max = doc && doc.items ? doc.items : 1;
    $("prog-bar").value = doc ? doc.reviewed : 0;
    text("prog-crit", counts(card.progress.criterion));
    renderHistory();
    viewPage = card.focus_page || card.pages[0].pdf_page;
    renderTabs();
    renderPage();
  }

  function renderHistory() {
    const list = $("history");
    list.replaceChildren();
    if (!card.history.length) list.append(el("li", "No decisions yet.", "empty"));
    for (const h of card.history) {
      const item = el("li", null, h.undone_by ? "undone" : "");
      item.dataset.decision = String(h.id);
      const who = `${h.at.replace("T", " ").replace("+00:00", " UTC")} · ${h.reviewer} · ${h.action}` + (h.adjudication ? " (adjudication)" : "");
      item.append(el("span", who, "who"));
      if (h.changes.length) item.append(el("span", ` · ${h.changes.join("; ")}`, "changes"));
      if (h.comment) item.append(el("span", ` · “${h.comment}”`, "comment"));
      item.append(el("span", ` · criteria ${h.criteria_version}`, "version"));
      if (h.undone_by) item.append(el("span", ` · undone by ${h.undone_by}`, "undone-by"));
      if (h.can_undo) {
        const button = el("button", "undo", "link");
        button.addEventListener("click", () => undo(h.id, card.candidate_id));
        item.append(" ", button);
      }
      list.append(item);
    }
  }

  function showPage(number) {
    if (number < 1 || number > card.document.page_count) return;
    viewPage = number;
    renderTabs();
    renderPage();
  }

  function renderTabs() {
    const tabs = $("page-tabs");
    tabs.replaceChildren();
    const back = el("button", "‹", "tab");
    back.title = "previous page ([)";
    back.addEventListener("click", () => showPage(viewPage - 1));
    tabs.append(back);
    for (const p of card.pages) {
      const button = el("button", p.citation, p.pdf_page === viewPage ? "tab active" : "tab");
      button.addEventListener("click", () => showPage(p.pdf_page));
      tabs.append(button);
    }
    const next = el("button", "›", "tab");
    next.title = "next page (])";
    next.addEventListener("click", () => showPage(viewPage + 1));
    tabs.append(next);
    if (!card.pages.some((p) => p.pdf_page === viewPage)) {
      tabs.append(el("span", `PDF p. ${viewPage} of ${card.document.page_count}`, "browsing"));
    }
  }

  function renderPage() {
    const page = card.pages.find((p) => p.pdf_page === viewPage);
    const img = $("page-img");
    const boxes = $("boxes");
    boxes.replaceChildren();
    img.alt = `${card.document.file_name}, PDF page ${viewPage}`;
    img.onerror = () => setStatus("The page image is not available (the PDF has moved?).", true);
    img.src = `/documents/${card.document.id}/pages/${viewPage}.png?scale=1.5`;
    $("page-link").href = `/documents/${card.document.id}/pages/${viewPage}?candidate=${card.candidate_id}`;
    if (!page || !page.width || !page.height) return;  // a page the passage is not on
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
    img.onload = () => {
      const first = boxes.firstElementChild;
      if (first) first.scrollIntoView({ block: "center", behavior: "instant" });
    };
  }

  async function decide(body, advance) {
    if (!card || busy) return;
    busy = true;
    const id = card.candidate_id;
    if (card.settles && body.action !== "comment") body.adjudication = true;
    try {
      const data = await api(`/api/cards/${id}/decide`, body);
      undoStack.push({ decision_id: data.decision_id, candidate_id: id });
      setStatus(`Saved: ${body.action} on candidate ${id}.`);
      if (advance) await loadNext();
      else await loadCard(id);
    } catch (e) {
      setStatus(e.message, true);
    } finally {
      busy = false;
    }
  }

  async function undo(decisionId, candidateId) {
    if (busy) return;
    busy = true;
    try {
      await api(`/api/decisions/${decisionId}/undo`, {});
      const i = undoStack.findIndex((u) => u.decision_id === decisionId);
      if (i >= 0) undoStack.splice(i, 1);
      await loadCard(candidateId);
      setStatus(`Undone: decision ${decisionId}. The card is back.`);
    } catch (e) {
      setStatus(e.message, true);
    } finally {
      busy = false;
    }
  }

  // "Criterion done": the reviewer has what they need for this criterion in this document;
  // its other open candidates are rejected together and the queue moves on.
  async function criterionDone() {
    if (!card || busy) return;
    const crit = card.state.criterion;
    if (!window.confirm(`Criterion ${crit} done: reject its other open candidates in this document?`)) return;
    busy = true;
    try {
      const data = await api("/api/criteria/done", { doc: card.document.id, criterion: crit });
      await loadNext();
      setStatus(`Criterion ${crit} done: ${data.rejected} candidate(s) rejected.`);
    } catch (e) {
      setStatus(e.message, true);
    } finally {
      busy = false;
    }
  }

  function selectedQuote() {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed) return "";
    const passage = $("passage");
    if (!passage.contains(selection.anchorNode) || !passage.contains(selection.focusNode)) return "";
    return selection.toString().trim();
  }

  function openDialog(mode) {
    dialogMode = mode;
    const input = $("dialog-input");
    const select = $("dialog-select");
    $("dialog").hidden = false;
    input.hidden = mode === "move";
    select.hidden = mode !== "move";
    // An edit or a move decides the candidate: its level is chosen, never taken from a
    // suggestion read from another sentence or criterion.
    $("dialog-level-label").hidden = mode === "comment";
    $("dialog-level").value = "";
    if (mode === "move") {
      text("dialog-label", "Move to criterion");
      select.replaceChildren();
      for (const c of card.criteria) {
        const option = el("option", `${c.id} · ${c.name}`);
        option.value = c.id;
        option.selected = c.id === card.state.criterion;
        select.append(option);
      }
      select.focus();
    } else {
      text("dialog-label", mode === "quote" ? "The exact supporting sentence" : "Comment");
      input.value = mode === "quote" ? selectedQuote() || card.quote : "";
      input.focus();
      input.select();
    }
  }

  function closeDialog() {
    dialogMode = null;
    $("dialog").hidden = true;
  }

  function submitDialog() {
    const mode = dialogMode;
    const chosen = $("dialog-level").value;
    if ((mode === "move" || mode === "quote") && chosen === "") {
      setStatus("Choose the level (0, 1 or 2) first: an edit or a move decides the candidate.", true);
      $("dialog-level").focus();
      return;
    }
    closeDialog();
    if (mode === "move") {
      decide({ action: "correct", criterion: $("dialog-select").value, level: Number(chosen) }, true);
    } else if (mode === "quote") {
      decide({ action: "correct", quote: $("dialog-input").value, level: Number(chosen) }, true);
    } else if (mode === "comment") {
      decide({ action: "comment", comment: $("dialog-input").value }, false);
    }
  }

  function act(key) {
    if (!card) {
      setStatus("Nothing left to review here: no card to act on.");
      return;
    }
    if (key === "a") decide({ action: "accept", level: Math.max(1, card.suggested.level) }, true);
    else if (key === "1" || key === "2") decide({ action: "accept", level: Number(key) }, true);
    else if (key === "r" || key === "0") decide({ action: "reject" }, true);
    else if (key === "m") openDialog("move");
    else if (key === "e") openDialog("quote");
    else if (key === "c") openDialog("comment");
    else if (key === "[") showPage(viewPage - 1);
    else if (key === "d") criterionDone();
    else if (key === "]") showPage(viewPage + 1);
    else if (key === "s") {
      skipped.push(card.candidate_id);
      loadNext().catch((e) => setStatus(e.message, true));
    } else if (key === "u") {
      const last = undoStack[undoStack.length - 1];
      if (last) undo(last.decision_id, last.candidate_id);
      else setStatus("Nothing of yours to undo on this page.", true);
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (dialogMode) {
      if (event.key === "Escape") { event.preventDefault(); closeDialog(); }
      else if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); submitDialog(); }
      return;
    }
    const target = event.target;
    if (target && ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
    if ("a120rmecsud[]".includes(event.key) && event.key.length === 1) {
      event.preventDefault();
      act(event.key);
    }
  });
  // The button's key, not a click: the keyboard flow and the mouse do the same thing.
  for (const button of document.querySelectorAll("#card .buttons button")) {
    button.addEventListener("mousedown", (e) => e.preventDefault());
    button.addEventListener("click", () => act(button.dataset.key));
  }

  // ?candidate=ID opens that card first (from the adjudication queue or a bookmark).
  const start = root.dataset.candidate ? loadCard(root.dataset.candidate) : loadNext();
  start.catch((e) => setStatus(e.message, true));
})();
