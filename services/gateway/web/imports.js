// imports: bulk onboarding (批量导入) of units and parties from CSV files, a
// tab of the 房屋与业户 screen for managers (#/units?tab=import). The API has
// no dry run: the file is read here first (its header and line count shown,
// the required columns checked), then sent as text/csv; its report comes back
// as counts and a table of the bad lines (line, field, problem), which can be
// saved as a CSV to fix the file. A file Excel saved as GB18030/GBK is read as
// such here and sent as UTF-8.
import { t, tp } from "./i18n.js";
import { api, html, mount, onSubmit, $, showErrors, clearErrors, fieldError, saveBlob } from "./lib.js";

const P = (ctx) => `/v1/properties/${ctx.pid}`;
const KINDS = {
  units: { required: ["code", "area_m2", "use"], columns: "code,building,floor,area_m2,use" },
  parties: { required: ["kind", "name"], columns: "kind,name,phone,email,id_type,id_number,unit_code,role,start_date" },
};
const MAX = 20 * 1048576;

// The file's text: UTF-8 when it is (a BOM dropped), else GB18030 (what
// Excel in China saves); gb true when it was read so.
async function readCsv(file) {
  const bytes = await file.arrayBuffer();
  try { return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes), gb: false }; }
  catch (e) { return { text: new TextDecoder("gb18030").decode(bytes), gb: true }; }
}
function headerOf(text) {
  const first = text.split(/\r\n|\n|\r/, 1)[0] || "";
  return first.split(",").map((c) => c.trim().replace(/^"|"$/g, "").toLowerCase()).filter(Boolean);
}
function countLines(text) {
  const n = text.split(/\r\n|\n|\r/).length;
  return /(\r\n|\n|\r)$/.test(text) ? n - 1 : n;
}
// "area_m2: must have at most 2 decimals" -> the column and the problem
function splitProblem(p) {
  const m = /^([a-z][a-z0-9_]*): (.*)$/.exec(p || "");
  return m ? { field: m[1], problem: m[2] } : { field: "", problem: p || "" };
}
// a cell of the saved report: quoted when it must be, never a formula
function cell(v) {
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function imports(box, ctx) {
  mount(box, html`<section class="panel"><h3>${t("imp.title")}</h3>
    <form id="csv-form" class="form" novalidate>
      <fieldset class="chips" id="csv-kind"><legend>${t("imp.kind")}</legend>
        ${Object.keys(KINDS).map((k, i) => html`<label class="chip"><input type="radio" name="kind" value="${k}" ${i ? "" : "checked"}><span>${t("imp.kind." + k)}</span></label>`)}</fieldset>
      <p class="muted small" id="csv-columns"></p>
      <div class="row"><label class="stack grow"><span>${t("imp.file")}</span><input type="file" name="file" accept=".csv,text/csv"></label>
        <button class="primary" id="csv-go">${t("imp.submit")}</button></div>
      <div id="csv-preview" class="muted small" aria-live="polite"></div>
      <p class="form-error" role="alert"></p></form></section>
    <section class="panel" id="csv-report" hidden></section>`);
  const form = $("#csv-form", box), preview = $("#csv-preview", box), report = $("#csv-report", box);
  const kind = () => form.querySelector("[name=kind]:checked").value;
  let read = null;
  function showColumns() { $("#csv-columns", box).textContent = t("imp.columns", { c: KINDS[kind()].columns }); }
  // what the file holds, before anything is sent: its lines and header
  async function look() {
    clearErrors(form);
    read = null;
    const file = form.file.files[0];
    if (!file) { preview.textContent = ""; return; }
    if (file.size > MAX) { fieldError(form, "file", "must be at most 20 MiB"); return; }
    read = await readCsv(file);
    const cols = headerOf(read.text), missing = KINDS[kind()].required.filter((c) => !cols.includes(c));
    mount(preview, html`<p id="csv-lines">${t("imp.preview", { n: Math.max(0, countLines(read.text) - 1), name: file.name })}${read.gb ? " · GB18030" : ""}</p>
      <p>${t("imp.header")}: <code>${cols.join(", ") || "—"}</code></p>
      ${missing.length ? html`<p class="arrears" id="csv-missing">${t("imp.missing", { c: missing.join(", ") })}</p>` : ""}`);
  }
  showColumns();
  form.addEventListener("change", (ev) => {
    if (ev.target.name === "kind") { showColumns(); look(); }
    if (ev.target.name === "file") look();
  });
  onSubmit(form, async () => {
    clearErrors(form);
    const file = form.file.files[0];
    if (!file) return fieldError(form, "file", "is required");
    if (!read) await look();
    if (!read) return;
    const k = kind();
    try {
      const r = await api("POST", P(ctx) + "/imports/" + k, undefined, { csv: read.text });
      showReport(k, file.name, r);
    } catch (e) { report.hidden = true; showErrors(form, e); }
  });

  function showReport(k, name, r) {
    // a line's problems ("area_m2: ...; use: ...") one row each
    const rows = r.errors.flatMap((x) => String(x.problem || "").split(/; (?=[a-z][a-z0-9_]*: )/)
      .map((p) => Object.assign({ line: x.line }, splitProblem(p))));
    mount(report, html`<div class="row between"><h3>${t("imp.report", { name })}</h3>
        ${rows.length ? html`<button type="button" class="secondary" id="csv-errors-save">${t("imp.errors.save")}</button>` : ""}</div>
      <div class="stats" id="csv-stats">
        <div class="stat"><span>${t("imp.imported")}</span><b id="csv-imported">${r.imported}</b></div>
        <div class="stat"><span>${t("imp.duplicates")}</span><b id="csv-duplicates">${r.duplicates}</b></div>
        <div class="stat ${r.rejected ? "bad" : ""}"><span>${t("imp.rejected")}</span><b id="csv-rejected">${r.rejected}</b></div>
        ${k === "parties" ? html`<div class="stat"><span>${t("imp.parties_created")}</span><b>${r.parties_created || 0}</b></div>
          <div class="stat"><span>${t("imp.occupancies_created")}</span><b>${r.occupancies_created || 0}</b></div>` : ""}
      </div>
      ${rows.length ? html`<table class="grid" id="csv-errors"><thead><tr><th class="num">${t("imp.line")}</th><th>${t("imp.field")}</th>
        <th>${t("imp.problem")}</th></tr></thead><tbody>${rows.map((x) => html`<tr data-line="${x.line}"><td class="num">${x.line}</td>
        <td><code>${x.field || "—"}</code></td><td>${tp(x.problem)}</td></tr>`)}</tbody></table>
        ${r.errors_truncated ? html`<p class="muted">${t("imp.truncated", { n: rows.length, all: r.rejected })}</p>` : ""}`
        : html`<p class="ok">${t("imp.clean")}</p>`}`);
    report.hidden = false;
    const save = $("#csv-errors-save", report);
    if (save) save.addEventListener("click", () => {
      const csv = "\ufeffline,field,problem\r\n" + rows.map((x) => [x.line, x.field, x.problem].map(cell).join(",")).join("\r\n") + "\r\n";
      saveBlob(new Blob([csv], { type: "text/csv" }), name.replace(/\.csv$/i, "") + "-errors.csv");
    });
  }
}
