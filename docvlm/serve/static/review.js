// The review page: upload a document as a task, then draw each page with its blocks' boxes
// beside the markdown and JSON; a click on a box (or on its text) highlights both.
"use strict";

const KIND_COLOURS = {
  heading: "#d62728", paragraph: "#1f77b4", list_item: "#2ca02c", table: "#9467bd",
  figure: "#8c564b", formula: "#e377c2", key_value: "#ff7f0e", code: "#7f7f7f",
  page_header: "#17becf", page_footer: "#bcbd22",
};
const LOW_CONFIDENCE = 0.6;
const $ = (id) => document.getElementById(id);

function headers() {
  const key = $("key").value.trim();
  sessionStorage.setItem("docvlm-key", key);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function call(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers() });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function say(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

async function review(file) {
  for (const id of ["pages", "markdown", "json"]) $(id).replaceChildren();
  const form = new FormData();
  form.append("file", file);
  try {
    say(`uploading ${file.name}…`);
    const task = await (await call("/v1/tasks", { method: "POST", body: form })).json();
    let status = task;
    while (!["done", "failed", "cancelled"].includes(status.status)) {
      say(`${status.status}: page ${status.pages_done} of ${status.pages_total ?? "?"}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      status = await (await call(`/v1/tasks/${task.id}`)).json();
    }
    if (status.status !== "done") throw new Error(status.error?.message ?? status.status);
    const payload = await (await call(`/v1/tasks/${task.id}/review`)).json();
    await draw(task.id, payload.document, payload.markdown);
    say(`${file.name}: ${payload.document.pages.length} page(s)`);
  } catch (error) {
    say(error.message, true);
  }
}

async function draw(taskId, documentJson, pieces) {
  for (const page of documentJson.pages) {
    const frame = element("div", `page ${page.status}`);
    frame.id = `page-${page.number}`;
    const title = element("div", "page-title");
    title.textContent = `page ${page.number} · ${page.engine ?? "—"} · ${page.status}` +
      (page.status === "ok" ? "" : ` — ${page.error ?? page.reason}`);
    title.title = page.reason;
    frame.append(title);
    $("pages").append(frame);
    if (page.status === "error" && !page.width) continue;
    const image = await (await call(`/v1/tasks/${taskId}/pages/${page.number}/image`)).blob();
    const holder = element("div", "page-image");
    holder.style.position = "relative";
    const img = element("img");
    img.alt = `page ${page.number}`;
    img.src = URL.createObjectURL(image);
    holder.append(img);
    page.blocks.forEach((block, index) => {
      if (block.bbox) holder.append(box(page, block, index));
    });
    frame.append(holder);
    page.blocks.forEach((block, index) => $("json").append(jsonEntry(page, block, index)));
  }
  pieces.forEach((piece) => {
    const block = documentJson.pages.find((p) => p.number === piece.page).blocks[piece.block];
    $("markdown").append(document.createTextNode(piece.separator));
    const span = element("span", isLow(block) ? "piece low" : "piece");
    span.id = `md-${piece.page}-${piece.block}`;
    span.textContent = piece.markdown;
    span.onclick = () => select(piece.page, piece.block, "markdown");
    $("markdown").append(span);
  });
}

function box(page, block, index) {
  const [x0, y0, x1, y1] = block.bbox;
  const div = element("div", isLow(block) ? "box low" : "box");
  div.id = `box-${page.number}-${index}`;
  div.style.setProperty("--kind", KIND_COLOURS[block.type] ?? "#000");
  Object.assign(div.style, {
    left: `${(100 * x0) / page.width}%`, top: `${(100 * y0) / page.height}%`,
    width: `${(100 * (x1 - x0)) / page.width}%`, height: `${(100 * (y1 - y0)) / page.height}%`,
  });
  const confidence = block.confidence == null ? "n/a" : `${Math.round(100 * block.confidence)}%`;
  div.title = `${block.type} · engine ${block.engine || page.engine} · confidence ${confidence}` +
    (block.flags.length ? ` · ${block.flags.join(", ")}` : "");
  div.dataset.kind = block.type;
  div.onclick = () => select(page.number, index, "page");
  return div;
}

function jsonEntry(page, block, index) {
  const pre = element("pre");
  pre.id = `json-${page.number}-${index}`;
  pre.style.setProperty("--kind", KIND_COLOURS[block.type] ?? "#ccc");
  pre.textContent = JSON.stringify(block, null, 2);
  pre.onclick = () => select(page.number, index, "json");
  return pre;
}

function select(pageNumber, index, from) {
  for (const old of document.querySelectorAll(".highlight")) old.classList.remove("highlight");
  for (const prefix of ["box", "md", "json"]) {
    const target = $(`${prefix}-${pageNumber}-${index}`);
    if (!target) continue;
    target.classList.add("highlight");
    if (prefix === "box" ? from !== "page" : true) target.scrollIntoView({ block: "center" });
  }
}

function isLow(block) {
  return block.confidence != null && block.confidence < LOW_CONFIDENCE;
}

function element(tag, className = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

function setUp() {
  $("key").value = sessionStorage.getItem("docvlm-key") ?? "";
  $("legend").replaceChildren(...Object.entries(KIND_COLOURS).map(([kind, colour]) => {
    const tag = element("span");
    tag.textContent = kind;
    tag.style.borderColor = colour;
    return tag;
  }));
  $("file").onchange = () => $("file").files[0] && review($("file").files[0]);
  const drop = $("drop");
  drop.ondragover = (event) => { event.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files[0]) review(event.dataTransfer.files[0]);
  };
}

setUp();
