// The page at /: sign-in with a bearer token, the supplier's products, and the chosen
// product's gallery as the <vitrine-gallery> element. It talks only to /v1 on this server.
import "./vitrine-gallery.js";

const TOKEN_KEY = "vitrine.token";
// A team member's link names the supplier it acts for (#access_token=...&supplier=<id>),
// sent with every request in the Vitrine-Supplier header.
const SUPPLIER_KEY = "vitrine.supplier";
const $ = (id) => document.getElementById(id);

// A token arriving in the fragment (#access_token=..., the shape of Supabase Auth's redirect)
// is kept in sessionStorage and taken out of the address bar and the history.
function takeTokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("access_token");
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    const supplier = params.get("supplier");
    if (supplier) sessionStorage.setItem(SUPPLIER_KEY, supplier);
    else sessionStorage.removeItem(SUPPLIER_KEY);
    history.replaceState(null, "", location.pathname + location.search);
  }
}

const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
const supplier = () => sessionStorage.getItem(SUPPLIER_KEY) || "";

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + token() };
  if (supplier()) headers["Vitrine-Supplier"] = supplier();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
  if (!res.ok) {
    if (res.status === 401) signOut("Your sign-in is no longer valid; sign in again.");
    throw new Error((data && data.error && data.error.message) || "The server answered " + res.status);
  }
  return data;
}

function showMessage(text) {
  $("products-message").textContent = text;
}

let products = [];
let chosen = "";

function renderProducts() {
  const list = $("product-list");
  list.replaceChildren();
  for (const p of products) {
    const title = p.title || "Untitled product";
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    open.dataset.id = p.id;
    open.textContent = title + (p.image_count !== undefined ? " (" + p.image_count + ")" : "");
    open.setAttribute("aria-current", String(p.id === chosen));
    open.addEventListener("click", () => choose(p.id));
    const label = document.createElement("label");
    label.className = "publish";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = !!p.published;
    box.setAttribute("aria-label", "Published: " + title);
    box.addEventListener("change", async () => {
      try {
        const updated = await api("PATCH", "/v1/products/" + encodeURIComponent(p.id), { published: box.checked });
        Object.assign(p, updated);
        showMessage(title + (p.published ? " is published." : " is no longer published."));
      } catch (err) {
        box.checked = !box.checked;
        showMessage(err.message);
      }
    });
    label.append(box, document.createTextNode("Published"));
    const li = document.createElement("li");
    li.append(open, label);
    list.append(li);
  }
  if (products.length === 0) showMessage("No products yet: create one.");
}

async function loadProducts(q) {
  try {
    const data = await api("GET", "/v1/products?" + new URLSearchParams(q ? { q } : {}));
    products = data.products || [];
    showMessage("");
    renderProducts();
  } catch (err) {
    showMessage(err.message);
  }
}

function choose(id) {
  chosen = id;
  const p = products.find((x) => x.id === id);
  const section = $("gallery");
  section.hidden = false;
  $("gallery-title").textContent = "Gallery: " + ((p && p.title) || "Untitled product");
  let g = section.querySelector("vitrine-gallery");
  if (!g) {
    g = document.createElement("vitrine-gallery");
    g.addEventListener("vitrine-product", (e) => {
      const d = e.detail;
      if (d.product) {
        const q = products.find((x) => x.id === d.product.id);
        if (q) Object.assign(q, d.product);
        renderProducts();
      }
    });
    section.append(g);
  }
  g.setAttribute("token", token());
  if (supplier()) g.setAttribute("supplier", supplier());
  else g.removeAttribute("supplier");
  g.setAttribute("api", location.origin);
  g.setAttribute("product-id", id);
  renderProducts();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(SUPPLIER_KEY);
  const g = document.querySelector("vitrine-gallery");
  if (g) g.remove();
  show();
  if (message) $("sign-in").querySelector("p").textContent = message;
}

function show() {
  const signedIn = !!token();
  $("sign-in").hidden = signedIn;
  $("workspace").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
  $("acting").hidden = !signedIn || !supplier();
  $("acting").textContent = supplier() ? "Acting for supplier " + supplier() : "";
  if (signedIn) loadProducts("");
}

takeTokenFromFragment();
// A sign-in link followed while the page is open changes only the fragment.
window.addEventListener("hashchange", () => {
  if (new URLSearchParams(location.hash.slice(1)).has("access_token")) {
    takeTokenFromFragment();
    show();
  }
});

$("sign-in-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const t = $("token").value.trim().replace(/^Bearer\s+/i, "");
  if (!t) return;
  sessionStorage.setItem(TOKEN_KEY, t);
  $("token").value = "";
  show();
});
$("sign-out").addEventListener("click", () => signOut(""));

let searchTimer = 0;
$("search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => loadProducts($("search").value.trim()), 250);
});
$("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  clearTimeout(searchTimer);
  loadProducts($("search").value.trim());
});
$("create-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const title = $("new-title").value.trim();
  try {
    const p = await api("POST", "/v1/products", { title });
    $("new-title").value = "";
    products.unshift(p);
    showMessage("Created " + (p.title || "the product") + ".");
    choose(p.id);
  } catch (err) {
    showMessage(err.message);
  }
});

show();
