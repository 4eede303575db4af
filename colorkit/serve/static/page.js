// colorkit serve: the page. Each dropped photo is uploaded once (the server answers an id), coloured
// with the chosen model and its hints, and shown as a card; nothing here names a file on the server.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const modelSelect = $("#model");
const takesHints = {};  // model name -> whether it takes hints, learned from the server's answers
let cardCount = 0;

function status(text) { $("#status").textContent = text; }

async function problem(response) {
  try { return (await response.json()).detail || response.statusText; } catch (e) { return `${response.status} ${response.statusText}`; }
}

async function loadModels() {
  const response = await fetch("/api/models");
  if (!response.ok) { $("#message").textContent = await problem(response); return; }
  const data = await response.json();
  for (const m of data.models) {
    const option = document.createElement("option");
    option.value = m.name;
    option.textContent = `${m.name} (${m.kind})`;
    modelSelect.append(option);
  }
  modelSelect.value = data.default;
}

class Card {
  constructor(file) {
    this.file = file;
    this.hints = [];       // {x, y, color, radius} in the photo's pixels
    this.busy = false;
    this.again = false;    // a change came in while colouring: colour once more after
    this.el = $("#card").content.firstElementChild.cloneNode(true);
    this.el.dataset.index = String(cardCount++);
    this.el.card = this;
    $(".name", this.el).textContent = file.name;
    $("#photos").append(this.el);
    this.wire();
  }

  part(sel) { return $(sel, this.el); }

  wire() {
    const side = this.part(".view-side"), slider = this.part(".view-slider");
    side.name = slider.name = `view-${this.el.dataset.index}`;
    side.addEventListener("change", () => this.part(".views").className = "views side");
    slider.addEventListener("change", () => this.part(".views").className = "views slider");
    this.part(".actual").addEventListener("change", (e) => this.el.classList.toggle("actual-size", e.target.checked));
    this.part(".reveal").addEventListener("input", (e) => {
      this.part(".before").style.clipPath = `inset(0 ${100 - Number(e.target.value)}% 0 0)`;
    });
    for (const img of this.el.querySelectorAll(".frame img")) {
      img.addEventListener("click", (e) => this.addHint(e, img));
    }
    this.part(".before").addEventListener("click", (e) => this.addHint(e, this.part(".after")));
  }

  async upload() {
    const response = await fetch("/api/photos", {
      method: "POST", body: this.file, headers: { "X-Filename": encodeURIComponent(this.file.name) },
    });
    if (!response.ok) { this.fail(await problem(response)); return; }
    this.photo = await response.json();
    this.part(".info").textContent = `${this.photo.width} x ${this.photo.height} px, ${this.photo.bits}-bit`;
    const gray = `/api/photos/${this.photo.id}/gray.jpg`;
    this.part(".gray").src = gray;
    this.part(".before").src = gray;
    const stem = this.photo.name.replace(/\.[^.]*$/, "") || "photo";
    this.part(".download-png").download = `${stem}_colour.png`;
    this.part(".download-hints").download = `${stem}.hints.json`;
    await this.colour();
  }

  fail(text) {
    this.el.classList.add("failed");
    this.part(".error").textContent = text;
  }

  async colour() {
    if (!this.photo) return;
    if (this.busy) { this.again = true; return; }
    this.busy = true;
    this.part(".busy").hidden = false;
    const model = modelSelect.value;
    const sendHints = takesHints[model] === true;
    const body = { model, hints: { units: "px", hints: sendHints ? this.hints : [] } };
    try {
      const response = await fetch(`/api/photos/${this.photo.id}/colour`, {
        method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" },
      });
      if (!response.ok) { this.fail(await problem(response)); return; }
      const known = takesHints[model];
      takesHints[model] = response.headers.get("X-Takes-Hints") === "1";
      if (known === undefined && takesHints[model] && this.hints.length) this.again = true;  // learned now: colour with the hints
      const url = URL.createObjectURL(await response.blob());
      await Promise.all([this.part(".colour"), this.part(".after")].map((img) => new Promise((done) => {
        img.onload = img.onerror = done;
        img.src = url;
      })));
      if (this.resultUrl) URL.revokeObjectURL(this.resultUrl);
      this.resultUrl = url;
      this.part(".error").textContent = "";
      this.el.classList.remove("failed");
      this.el.classList.add("coloured");
      this.el.dataset.results = String(Number(this.el.dataset.results || 0) + 1);
      this.el.dataset.hintsUsed = String(sendHints ? this.hints.length : 0);
      this.part(".body").hidden = false;
      this.part(".download-png").href = `/api/photos/${this.photo.id}/result.png?n=${this.el.dataset.results}`;
      this.showHints(takesHints[model]);
    } catch (e) {
      this.fail(`the server did not answer (${e.message}); is colorkit serve still running?`);
    } finally {
      this.busy = false;
      this.part(".busy").hidden = true;
      if (this.again) { this.again = false; this.colour(); }
    }
  }

  showHints(usable) {
    this.part(".hints").hidden = !usable && !this.hints.length;
    this.part(".no-hints").hidden = usable;
    const link = this.part(".download-hints");
    link.hidden = !usable;
    link.href = `/api/photos/${this.photo.id}/hints.json?n=${this.el.dataset.results}`;
  }

  addHint(event, img) {
    if (!this.photo || takesHints[modelSelect.value] !== true) return;
    const box = img.getBoundingClientRect();
    const clamp = (v, top) => Math.min(Math.max(Math.floor(v), 0), top - 1);
    const x = clamp((event.clientX - box.left) / box.width * this.photo.width, this.photo.width);
    const y = clamp((event.clientY - box.top) / box.height * this.photo.height, this.photo.height);
    const radius = Math.max(0, Number(this.part(".hint-radius").value) || 0);
    this.hints.push({ x, y, color: this.part(".hint-colour").value, radius });
    this.drawHints();
    this.colour();
  }

  drawHints() {
    const list = this.part(".hint-list");
    list.replaceChildren();
    this.hints.forEach((hint, i) => {
      const item = document.createElement("li");
      item.className = "hint";
      item.append(`(${hint.x}, ${hint.y}) `);
      const pick = document.createElement("input");
      pick.type = "color";
      pick.value = hint.color;
      pick.setAttribute("aria-label", `colour of hint ${i + 1}`);
      pick.addEventListener("change", () => { hint.color = pick.value; this.drawHints(); this.colour(); });
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "remove";
      remove.textContent = "remove";
      remove.addEventListener("click", () => { this.hints.splice(i, 1); this.drawHints(); this.colour(); });
      item.append(pick, remove);
      list.append(item);
    });
    for (const marks of this.el.querySelectorAll(".marks")) {
      marks.replaceChildren(...this.hints.map((hint) => {
        const mark = document.createElement("span");
        mark.className = "mark";
        mark.style.left = `${(hint.x + 0.5) / this.photo.width * 100}%`;
        mark.style.top = `${(hint.y + 0.5) / this.photo.height * 100}%`;
        mark.style.background = hint.color;
        return mark;
      }));
    }
  }
}

async function addFiles(files) {
  $("#message").textContent = "";
  const cards = [...files].map((file) => new Card(file));
  status(`${cards.length} photo(s) to colour`);
  for (const card of cards) await card.upload();  // one at a time: the server runs one batch at a time anyway
  status("");
}

function setUp() {
  const drop = $("#drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) addFiles(e.dataTransfer.files);
  });
  $("#files").addEventListener("change", (e) => { addFiles(e.target.files); e.target.value = ""; });
  modelSelect.addEventListener("change", () => {
    for (const el of document.querySelectorAll(".card")) el.card && el.card.colour();
  });
  loadModels().then(() => document.body.dataset.ready = "1");
}

setUp();
