// The page view: the passage and quote boxes placed on the page image. Boxes are in PDF
// points; the sheet is exactly as large as the image, so percentages of the page size land
// on the same words at every size the image is shown.
(function () {
  "use strict";
  const sheet = document.getElementById("page-sheet");
  if (!sheet) return;
  const width = Number(sheet.dataset.width);
  const height = Number(sheet.dataset.height);
  const layer = document.getElementById("boxes");
  const place = (cls, passageId) => ([x0, top, x1, bottom]) => {
    const box = document.createElement("div");
    if (passageId !== undefined) box.dataset.passage = String(passageId);
    box.className = cls;
    box.style.left = `${(100 * x0) / width}%`;
    box.style.top = `${(100 * top) / height}%`;
    box.style.width = `${(100 * (x1 - x0)) / width}%`;
    box.style.height = `${(100 * (bottom - top)) / height}%`;
    layer.append(box);
  };
  if (width && height) {
    JSON.parse(sheet.dataset.boxes || "[]").forEach(place("box"));
    JSON.parse(sheet.dataset.quoteBoxes || "[]").forEach(place("box quote"));
    // one outline per matching passage (a search's matches on this page), around its lines
    JSON.parse(sheet.dataset.passages || "[]").forEach((p) => place("match", p.passage_id)(p.box));
  }
})();
