// <vitrine-gallery product-id="uuid" api="https://vitrine.example" token="jwt">: a product's
// image gallery, editable by its supplier. It talks only to Vitrine's public /v1 API (api
// defaults to the origin this module was loaded from) with the bearer token, and keeps itself
// current through the product's event stream (GET /v1/products/{id}/events), read with fetch()
// so that the token travels in the Authorization header. No polling.
import Sortable from "./vendor/sortable.esm.js";
import { thumbHashToDataURL } from "./vendor/thumbhash.js";

const moduleOrigin = new URL(import.meta.url).origin;
const stylesheet = new URL("vitrine-gallery.css", import.meta.url).href;

// The widths the gallery's thumbnails take on screen, for srcset: about half the width of a
// phone, else a fixed column.
const SIZES = "(max-width: 480px) 45vw, 220px";

// Reconnection delays of the event stream, doubling up to a ceiling.
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30000;

// How long the element waits for the event of its own reorder before it follows the order
// the stream says (another client may have reordered since).
const ECHO_WAIT_MS = 5000;

// ApiError is an answer of the API that is not a success, with its message for people.
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// errorFrom reads the API's {"error":{"code","message"}} body, or says what the status means.
function errorFrom(status, text, retryAfter) {
  let code = "http_" + status, message = "";
  try {
    const body = JSON.parse(text);
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || "";
    }
  } catch (_) { /* not JSON */ }
  if (status === 0) message = "The request did not reach the server (network error, or the browser refused it: is this page's origin allowed?)";
  if (!message) message = "The server answered " + status;
  if (status === 429 && retryAfter) message += " (try again in " + retryAfter + " s)";
  return new ApiError(status, code, message);
}

// parseEventStream reads a text/event-stream body, calling onEvent({event, data, id}) for each
// event and ignoring comments (keep-alives). It resolves when the stream ends.
async function parseEventStream(body, onEvent, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "", event = "", data = [], id = null;
  const line = (l) => {
    if (l === "") {
      if (data.length > 0 || event) onEvent({ event: event || "message", data: data.join("\n"), id });
      event = ""; data = []; id = null;
      return;
    }
    if (l.startsWith(":")) return;
    const colon = l.indexOf(":");
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? "" : l.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id" && !value.includes("\0")) id = value;
  };
  for (;;) {
    if (signal.aborted) return;
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let i;
    while ((i = buffer.search(/\r\n|\r|\n/)) >= 0) {
      if (buffer[i] === "\r" && i === buffer.length - 1) break; // a \r\n may be split
      const eol = buffer.startsWith("\r\n", i) ? 2 : 1;
      line(buffer.slice(0, i));
      buffer = buffer.slice(i + eol);
    }
  }
}

// srcsetOf returns an image's srcset from its variants (one per preset, WebP preferred), with
// URLs made absolute against api.
function srcsetOf(image, api) {
  const parts = [];
  for (const formats of Object.values(image.variants || {})) {
    const v = formats.webp || formats.avif || formats.jpeg || Object.values(formats)[0];
    if (v && v.url && v.width) parts.push([v.width, v.url]);
  }
  parts.sort((a, b) => a[0] - b[0]);
  return parts.map(([w, url]) => absolute(url, api) + " " + w + "w").join(", ");
}

// absolute makes a URL that the API at api gave relative to itself absolute.
function absolute(url, api) {
  return new URL(url, api + "/").href;
}

// placeholderOf decodes an image's ThumbHash into a data URL, "" when it has none.
const placeholders = new Map();
function placeholderOf(image) {
  if (!image.thumbhash) return "";
  let url = placeholders.get(image.thumbhash);
  if (url === undefined) {
    try {
      const bin = atob(image.thumbhash);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      url = thumbHashToDataURL(bytes);
    } catch (_) {
      url = "";
    }
    placeholders.set(image.thumbhash, url);
  }
  return url;
}

const STATUS_TEXT = {
  none: "Original only",
  pending: "Pending",
  processing: "Processing",
  ready: "Ready",
  failed: "Failed",
  importing: "Importing",
};

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  e.append(...children);
  return e;
}

let instances = 0;

export class VitrineGallery extends HTMLElement {
  static observedAttributes = ["product-id", "api", "token"];

  constructor() {
    super();
    this.uid = "vg" + ++instances;
    this.images = [];
    this.product = null;
    this.items = new Map(); // image id -> its <li>
    this.direct = undefined; // whether the store takes direct uploads (S3), once known
    this.queue = Promise.resolve(); // uploads go one at a time, in the order chosen
    this.stream = null;
    this.lastEventId = null;
    this.dragging = false;
    this.pendingDelete = null;
    this.echo = null; // the order of this element's last reorder, until its event arrives
    this.echoTimer = 0;
    this.latestOrder = null;
    this.build();
  }

  get api() {
    return (this.getAttribute("api") || moduleOrigin).replace(/\/+$/, "");
  }
  get productId() {
    return this.getAttribute("product-id") || "";
  }
  get token() {
    return this.getAttribute("token") || "";
  }

  connectedCallback() {
    this.open();
  }
  disconnectedCallback() {
    this.close();
  }
  attributeChangedCallback(name, before, after) {
    if (before === after || !this.isConnected) return;
    if (name === "product-id") {
      this.images = [];
      this.lastEventId = null;
      this.render();
    }
    this.close();
    this.open();
  }

  // build makes the element's shadow tree, once.
  build() {
    const root = this.attachShadow({ mode: "open" });
    const u = this.uid;
    this.live = el("div", { class: "sr-only", role: "status", "aria-live": "polite", "aria-atomic": "true" });
    this.alert = el("p", { class: "alert", role: "alert" });
    this.fileInput = el("input", { type: "file", id: u + "-file", multiple: true, accept: "image/jpeg,image/png,image/gif,image/webp,image/*", class: "sr-only",
      onchange: () => { this.upload([...this.fileInput.files]); this.fileInput.value = ""; } });
    this.drop = el("div", { class: "drop" },
      this.fileInput,
      el("label", { for: u + "-file", class: "button" , text: "Choose images" }),
      el("span", { text: " or drop image files here" }));
    this.drop.addEventListener("dragover", (e) => {
      if (e.dataTransfer && [...e.dataTransfer.types].includes("Files")) {
        e.preventDefault();
        this.drop.classList.add("over");
      }
    });
    this.drop.addEventListener("dragleave", () => this.drop.classList.remove("over"));
    this.drop.addEventListener("drop", (e) => {
      e.preventDefault();
      this.drop.classList.remove("over");
      if (e.dataTransfer) this.upload([...e.dataTransfer.files]);
    });
    this.uploads = el("ul", { class: "uploads", "aria-label": "Uploads" });
    this.hint = el("p", { id: u + "-hint", class: "hint", text: "To move a focused image, press Alt+Left arrow or Alt+Right arrow, or drag it." });
    this.list = el("ol", { class: "images", "aria-label": "Images in gallery order; the first is the main image", "aria-describedby": u + "-hint" });
    this.empty = el("p", { class: "empty", text: "No images yet." });
    this.dialogText = el("p", { id: u + "-dialog-text" });
    this.dialog = el("dialog", { "aria-labelledby": u + "-dialog-title", "aria-describedby": u + "-dialog-text" },
      el("h2", { id: u + "-dialog-title", text: "Delete this image?" }),
      this.dialogText,
      el("form", { method: "dialog", class: "actions" },
        el("button", { value: "cancel", text: "Cancel", autofocus: true }),
        el("button", { value: "delete", class: "danger", text: "Delete" })));
    this.dialog.addEventListener("close", () => {
      const id = this.pendingDelete;
      this.pendingDelete = null;
      if (this.dialog.returnValue === "delete" && id) this.remove(id);
    });
    root.append(
      el("link", { rel: "stylesheet", href: stylesheet }),
      this.live, this.alert, this.drop, this.uploads, this.hint, this.list, this.empty, this.dialog);
    this.sortable = Sortable.create(this.list, {
      // Pointer events instead of HTML drag and drop: the same path for mouse, pen and touch,
      // and it works inside a shadow root.
      forceFallback: true,
      fallbackTolerance: 4,
      delayOnTouchOnly: true,
      delay: 150,
      filter: "input, textarea, button, .alt",
      preventOnFilter: false,
      animation: 120,
      onStart: () => { this.dragging = true; },
      onEnd: (e) => {
        this.dragging = false;
        if (e.oldIndex === e.newIndex) return;
        const ids = [...this.list.children].map((li) => li.dataset.id);
        this.reorder(ids, e.item.dataset.id);
      },
    });
  }

  // request calls the API and returns its JSON answer; a non-2xx answer throws an ApiError.
  async request(method, path, body) {
    const headers = { Authorization: "Bearer " + this.token };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(this.api + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (_) {
      throw errorFrom(0, "");
    }
    const text = await res.text();
    if (!res.ok) throw errorFrom(res.status, text, res.headers.get("Retry-After"));
    return text ? JSON.parse(text) : null;
  }

  say(message) {
    this.live.textContent = "";
    // A new node each time, so that the same words are announced again.
    this.live.append(el("span", { text: message }));
  }

  fail(err) {
    this.alert.textContent = err.message || String(err);
  }

  // open starts reading the product's event stream, which begins with a snapshot of the
  // gallery (or, after a reconnect with Last-Event-ID, the events missed).
  open() {
    if (!this.productId || this.stream) return;
    const ctrl = new AbortController();
    this.stream = ctrl;
    let delay = RETRY_FIRST_MS;
    const run = async () => {
      while (!ctrl.signal.aborted) {
        const headers = { Authorization: "Bearer " + this.token, Accept: "text/event-stream" };
        if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
        let res;
        try {
          res = await fetch(this.api + "/v1/products/" + encodeURIComponent(this.productId) + "/events", { headers, signal: ctrl.signal, cache: "no-store" });
        } catch (_) {
          if (ctrl.signal.aborted) return;
          this.fail(errorFrom(0, ""));
          res = null;
        }
        if (res && !res.ok) {
          const err = errorFrom(res.status, await res.text(), res.headers.get("Retry-After"));
          this.fail(err);
          if (res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408) return; // retrying cannot help
        } else if (res) {
          this.alert.textContent = "";
          delay = RETRY_FIRST_MS;
          try {
            let ended = false;
            await parseEventStream(res.body, (ev) => {
              if (ev.id) this.lastEventId = ev.id;
              if (this.apply(ev.event, ev.data) === "gone") ended = true;
            }, ctrl.signal);
            if (ended) { ctrl.abort(); return; }
          } catch (_) {
            if (ctrl.signal.aborted) return;
          }
        }
        if (ctrl.signal.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    };
    run();
  }

  close() {
    if (this.stream) this.stream.abort();
    this.stream = null;
  }

  // apply applies one event of the stream to the gallery.
  apply(event, data) {
    let d;
    try {
      d = JSON.parse(data);
    } catch (_) {
      return;
    }
    switch (event) {
      case "snapshot":
        this.product = d.product;
        this.images = d.images || [];
        this.echo = null;
        this.latestOrder = null;
        this.render();
        this.dispatchEvent(new CustomEvent("vitrine-snapshot", { detail: d }));
        break;
      case "image":
        if (d.image) this.upsert(d.image);
        else this.images = this.images.filter((i) => i.id !== d.image_id);
        if (Array.isArray(d.order)) {
          if (this.echo === null) this.sortBy(d.order);
          else {
            // Events committed before this element's own last reorder carry the order of
            // then: wait for the event of that reorder before following the stream's order.
            this.latestOrder = d.order;
            if (d.order.join(",") === this.echo) this.stopWaitingForEcho();
          }
        }
        this.render();
        break;
      case "product":
        this.product = d.product;
        if (!d.product) this.fail(new Error("This product was deleted."));
        this.dispatchEvent(new CustomEvent("vitrine-product", { detail: d }));
        break;
      case "reload":
        // A snapshot follows.
        this.images = [];
        break;
      case "gone":
        this.images = [];
        this.render();
        this.fail(new Error("This gallery is no longer available to you" + (d.reason ? ": " + d.reason : ".")));
        return "gone";
    }
  }

  upsert(image) {
    const i = this.images.findIndex((x) => x.id === image.id);
    if (i >= 0) this.images[i] = image;
    else this.images.push(image);
  }

  sortBy(order) {
    const rank = new Map(order.map((id, i) => [id, i]));
    this.images = this.images.filter((i) => rank.has(i.id));
    this.images.sort((a, b) => rank.get(a.id) - rank.get(b.id));
    this.images.forEach((img, i) => { img.position = i; });
  }

  // setImages replaces the gallery with the API's answer to this element's own reorder (a
  // list in order); until the stream brings the event of that reorder, the order of the
  // (older) events before it is not applied.
  setImages(list) {
    this.images = list;
    this.render();
    this.echo = list.map((i) => i.id).join(",");
    clearTimeout(this.echoTimer);
    this.echoTimer = setTimeout(() => this.stopWaitingForEcho(), ECHO_WAIT_MS);
  }

  stopWaitingForEcho() {
    clearTimeout(this.echoTimer);
    this.echo = null;
    if (this.latestOrder) {
      this.sortBy(this.latestOrder);
      this.latestOrder = null;
      this.render();
    }
  }

  // render brings the list up to date with this.images, keeping each image's element (its
  // loaded picture and focus) and moving only what moved.
  render() {
    const seen = new Set();
    this.images.forEach((image, index) => {
      seen.add(image.id);
      let li = this.items.get(image.id);
      if (!li) {
        li = this.item(image.id);
        this.items.set(image.id, li);
      }
      this.update(li, image, index);
    });
    for (const [id, li] of this.items) {
      if (!seen.has(id)) {
        li.remove();
        this.items.delete(id);
      }
    }
    if (!this.dragging) {
      this.images.forEach((image, index) => {
        const li = this.items.get(image.id);
        if (this.list.children[index] !== li) {
          const focused = this.shadowRoot.activeElement;
          this.list.insertBefore(li, this.list.children[index] || null);
          if (focused && li.contains(focused)) focused.focus();
        }
      });
    }
    this.empty.hidden = this.images.length > 0;
  }

  // item makes the element of one image.
  item(id) {
    const u = this.uid + "-" + id;
    const li = el("li", { "data-id": id, tabindex: "0" });
    const thumb = el("div", { class: "thumb" });
    const placeholder = el("img", { class: "placeholder", alt: "", "aria-hidden": "true" });
    const img = el("img", { class: "picture", decoding: "async", loading: "lazy", sizes: SIZES });
    img.addEventListener("load", () => thumb.classList.add("loaded"));
    thumb.append(placeholder, img);
    const main = el("span", { class: "main-badge", text: "Main image" });
    const status = el("span", { class: "status" });
    const error = el("p", { class: "error" });
    const retry = el("button", { type: "button", class: "retry", text: "Retry", onclick: () => this.retry(id) });
    const alt = el("input", { id: u + "-alt", class: "alt", maxlength: "1000", autocomplete: "off" });
    alt.addEventListener("change", () => this.saveAlt(id, alt.value));
    alt.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); alt.blur(); } });
    const makeMain = el("button", { type: "button", class: "make-main", text: "Make main", onclick: () => this.move(id, 0, true) });
    const del = el("button", { type: "button", class: "delete danger", text: "Delete", onclick: () => this.confirmDelete(id) });
    li.append(thumb,
      el("div", { class: "badges" }, main, status),
      error, retry,
      el("label", { for: u + "-alt", class: "alt-label", text: "Alt text" }), alt,
      el("div", { class: "actions" }, makeMain, del));
    li.addEventListener("keydown", (e) => {
      if (e.target !== li || !e.altKey || (e.key !== "ArrowLeft" && e.key !== "ArrowRight")) return;
      e.preventDefault();
      const from = this.images.findIndex((x) => x.id === id);
      const to = from + (e.key === "ArrowLeft" ? -1 : 1);
      if (from < 0 || to < 0 || to >= this.images.length) return;
      this.move(id, to, false);
    });
    li.parts = { thumb, placeholder, img, main, status, error, retry, alt, makeMain, del };
    return li;
  }

  // update shows image's state in its element li, at index.
  update(li, image, index) {
    const p = li.parts;
    const n = this.images.length;
    const label = image.alt || "untitled image";
    li.setAttribute("aria-label", "Image " + (index + 1) + " of " + n + (index === 0 ? ", main image" : "") + ": " + label);
    li.classList.toggle("is-main", index === 0);
    p.main.hidden = index !== 0;
    p.makeMain.disabled = index === 0;
    p.makeMain.setAttribute("aria-label", "Make main: " + label);
    p.del.setAttribute("aria-label", "Delete: " + label);
    // An imported image has no original until its import succeeds: error_code says why it failed.
    const importFailed = image.status === "failed" && !!image.error_code;
    p.retry.setAttribute("aria-label", (importFailed ? "Retry: import of " : "Retry: thumbnails of ") + label);
    p.status.textContent = STATUS_TEXT[image.status] || image.status;
    p.status.className = "status status-" + image.status;
    p.error.textContent = image.status === "failed"
      ? (image.last_error || (importFailed ? "The import failed." : "The thumbnails could not be made.")) : "";
    p.error.hidden = image.status !== "failed";
    p.retry.hidden = image.status !== "failed";
    if (this.shadowRoot.activeElement !== p.alt) p.alt.value = image.alt || "";
    if (image.dominant_color) p.thumb.style.setProperty("background-color", image.dominant_color);
    const ph = placeholderOf(image);
    if (ph && p.placeholder.getAttribute("src") !== ph) p.placeholder.src = ph;
    p.placeholder.hidden = !ph;
    const srcset = srcsetOf(image, this.api);
    const src = srcset || !image.url ? "" : absolute(image.url, this.api);
    p.img.hidden = !srcset && !src; // nothing to show while importing
    if (!srcset && !src) {
      p.img.removeAttribute("srcset");
      p.img.removeAttribute("src");
    } else if (srcset && p.img.getAttribute("srcset") !== srcset) {
      p.img.setAttribute("srcset", srcset);
      p.img.removeAttribute("src");
    } else if (!srcset && p.img.getAttribute("src") !== src) {
      p.img.removeAttribute("srcset");
      p.img.src = src;
    }
    p.img.alt = image.alt || "";
    p.img.width = image.width;
    p.img.height = image.height;
  }

  // upload sends files one after the other, in the order given, each with its own progress.
  upload(files) {
    for (const file of files) {
      const name = file.name || "image";
      const bar = el("progress", { max: "100", value: "0", "aria-label": "Uploading " + name });
      const message = el("span", { class: "message" });
      const row = el("li", { class: "upload" }, el("span", { class: "name", text: name }), bar, message);
      this.uploads.append(row);
      this.queue = this.queue.then(() => this.uploadOne(file, bar, message, row));
    }
  }

  async uploadOne(file, bar, message, row) {
    const progress = (e) => { if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100); };
    try {
      let image;
      let direct = null;
      if (this.direct !== false) {
        try {
          direct = await this.request("POST", "/v1/products/" + encodeURIComponent(this.productId) + "/uploads", {});
          this.direct = true;
        } catch (err) {
          if (err.status !== 501) throw err;
          this.direct = false;
        }
      }
      if (direct) {
        await this.xhr("PUT", direct.upload_url, file, progress, false);
        bar.value = 100;
        image = await this.request("POST", direct.complete_url);
      } else {
        const form = new FormData();
        form.append("file", file, file.name);
        image = await this.xhr("POST", this.api + "/v1/products/" + encodeURIComponent(this.productId) + "/images", form, progress, true);
      }
      bar.value = 100;
      row.classList.add("done");
      message.textContent = "Uploaded";
      this.upsert(image);
      this.images.sort((a, b) => a.position - b.position);
      this.render();
      this.say(file.name + " uploaded");
    } catch (err) {
      row.classList.add("refused");
      message.textContent = err.message;
      this.say(file.name + " was not uploaded: " + err.message);
    }
  }

  // xhr sends body with XMLHttpRequest, whose upload progress fetch() does not report.
  xhr(method, url, body, onProgress, withToken) {
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open(method, url);
      if (withToken) x.setRequestHeader("Authorization", "Bearer " + this.token);
      x.upload.addEventListener("progress", onProgress);
      x.addEventListener("load", () => {
        if (x.status >= 200 && x.status < 300) {
          let v = null;
          try { v = x.responseText ? JSON.parse(x.responseText) : null; } catch (_) { /* a bucket's answer */ }
          resolve(v);
        } else {
          reject(errorFrom(x.status, x.responseText, x.getResponseHeader("Retry-After")));
        }
      });
      x.addEventListener("error", () => reject(errorFrom(0, "")));
      x.addEventListener("abort", () => reject(new Error("The upload was cancelled")));
      x.send(body);
    });
  }

  // reorder sends the whole order (after a drag); moved is the image that was dragged.
  async reorder(ids, moved) {
    try {
      const res = await this.request("PUT", "/v1/products/" + encodeURIComponent(this.productId) + "/images/order", { ids });
      this.setImages(res.images || res);
      const at = this.images.findIndex((i) => i.id === moved);
      this.say("Moved to position " + (at + 1) + " of " + this.images.length);
    } catch (err) {
      this.fail(err);
      this.render(); // back to the order the server holds
    }
  }

  // move puts an image at position (0: the main image), from the keyboard or "Make main".
  async move(id, position, asMain) {
    try {
      const res = await this.request("POST", "/v1/images/" + encodeURIComponent(id) + "/position", { position });
      this.setImages(res.images || res);
      const li = this.items.get(id);
      if (li && !asMain) li.focus();
      this.say(asMain ? "Now the main image" : "Moved to position " + (position + 1) + " of " + this.images.length);
    } catch (err) {
      this.fail(err);
    }
  }

  confirmDelete(id) {
    const image = this.images.find((i) => i.id === id);
    this.pendingDelete = id;
    this.dialogText.textContent = (image && image.alt ? "“" + image.alt + "”" : "This image") + " will be removed from the gallery, with its thumbnails.";
    this.dialog.showModal();
  }

  async remove(id) {
    try {
      await this.request("DELETE", "/v1/images/" + encodeURIComponent(id));
      this.images = this.images.filter((i) => i.id !== id);
      this.images.forEach((img, i) => { img.position = i; });
      this.render();
      this.say("Image deleted");
      const first = this.list.querySelector("li");
      if (first) first.focus();
    } catch (err) {
      this.fail(err);
    }
  }

  async saveAlt(id, alt) {
    try {
      const image = await this.request("PATCH", "/v1/images/" + encodeURIComponent(id), { alt });
      this.upsert(image);
      this.render();
      this.say("Alt text saved");
    } catch (err) {
      this.fail(err);
    }
  }

  async retry(id) {
    try {
      const image = await this.request("POST", "/v1/images/" + encodeURIComponent(id) + "/retry");
      this.upsert(image);
      this.render();
      this.say("Retrying the thumbnails");
    } catch (err) {
      this.fail(err);
    }
  }
}

if (!customElements.get("vitrine-gallery")) customElements.define("vitrine-gallery", VitrineGallery);
