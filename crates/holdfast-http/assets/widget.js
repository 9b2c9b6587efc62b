/* Holdfast website widget. Embed:
 *   <script src="https://HOLDFAST/widget.js" data-key="wgt_..." async></script>
 * Optional, for a signed-in user of the site: data-user-id, data-user-hash (hex
 * HMAC-SHA256(identity secret, user id), computed on the site's server), data-user-name,
 * data-user-email. No framework; server text is only ever inserted with textContent. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) {
    var all = document.querySelectorAll("script[data-key][src*='widget.js']");
    script = all[all.length - 1];
  }
  if (!script || script.getAttribute("data-holdfast-ready")) return;
  script.setAttribute("data-holdfast-ready", "1");
  var key = script.getAttribute("data-key") || "";
  var userId = script.getAttribute("data-user-id");
  var userHash = script.getAttribute("data-user-hash");
  var base = new URL(script.src, location.href).origin;
  var api = base + "/api/v1/widget/" + encodeURIComponent(key);
  var store = "holdfast-widget:" + key + ":" + (userId || "");
  var formToken = null, pollEvery = 5, timer = null, seen = {};

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function token() { try { return localStorage.getItem(store); } catch (e) { return null; } }
  function keep(t) { try { localStorage.setItem(store, t); } catch (e) { /* private mode */ } }

  var host = el("div", { "data-holdfast-widget": "" });
  var root = host.attachShadow({ mode: "open" });
  var style = el("style", {}, [
    ":host{all:initial}",
    ".launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:24px;padding:12px 18px;background:#1f4fd1;color:#fff;font:600 15px system-ui,sans-serif;cursor:pointer}",
    ".panel{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:320px;max-height:70vh;overflow:auto;background:#fff;color:#111;border:1px solid #ccd;border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.18);font:14px system-ui,sans-serif;padding:14px}",
    ".panel[hidden]{display:none}",
    "label{display:block;margin:8px 0 2px;font-weight:600}",
    "input,textarea{box-sizing:border-box;width:100%;padding:6px;border:1px solid #99a;border-radius:6px;font:inherit}",
    "textarea{min-height:80px}",
    ".hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}",
    "button.send{margin-top:10px;border:0;border-radius:6px;padding:8px 14px;background:#1f4fd1;color:#fff;font:inherit;cursor:pointer}",
    ".status{margin-top:8px;min-height:1em}",
    ".error{color:#a40000}",
    ".log{list-style:none;margin:0 0 8px;padding:0}",
    ".log li{margin:6px 0;padding:6px 8px;border-radius:8px;white-space:pre-wrap}",
    ".visitor{background:#e8eefc}",
    ".team{background:#eef7ea}"
  ].join(""));
  var launch = el("button", { type: "button", "class": "launch", "aria-expanded": "false", "aria-controls": "hf-panel" }, "Chat with us");
  var panel = el("section", { id: "hf-panel", "class": "panel", role: "dialog", "aria-label": "Contact us" });
  panel.hidden = true;
  var log = el("ul", { "class": "log", "aria-live": "polite", "aria-label": "Conversation" });
  var form = el("form", { novalidate: "" });
  function field(id, label, tag, attrs) {
    var wrap = el("div");
    wrap.appendChild(el("label", { "for": id }, label));
    attrs.id = id; attrs.name = id;
    var input = el(tag, attrs);
    wrap.appendChild(input);
    form.appendChild(wrap);
    return input;
  }
  var name = field("hf-name", "Your name", "input", { type: "text", maxlength: "100", autocomplete: "name" });
  var email = field("hf-email", "Email (optional)", "input", { type: "email", maxlength: "254", autocomplete: "email" });
  var message = field("hf-message", "Message", "textarea", { maxlength: "5000", required: "" });
  var trap = el("div", { "class": "hp", "aria-hidden": "true" });
  trap.appendChild(el("label", { "for": "hf-website" }, "Leave this empty"));
  var website = el("input", { id: "hf-website", name: "website", type: "text", tabindex: "-1", autocomplete: "off" });
  trap.appendChild(website);
  form.appendChild(trap);
  var send = el("button", { type: "submit", "class": "send" }, "Send");
  form.appendChild(send);
  var status = el("p", { "class": "status", role: "status" });
  form.appendChild(status);
  if (script.getAttribute("data-user-name")) name.value = script.getAttribute("data-user-name");
  if (script.getAttribute("data-user-email")) email.value = script.getAttribute("data-user-email");
  panel.appendChild(el("h2", { style: "font-size:16px;margin:0 0 8px" }, "Contact us"));
  panel.appendChild(log);
  panel.appendChild(form);
  root.appendChild(style);
  root.appendChild(launch);
  root.appendChild(panel);

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "status error" : "status";
  }
  function problem(resp) {
    return resp.json().then(function (body) {
      return (body && body.detail) || ("The message could not be sent (" + resp.status + ").");
    }, function () { return "The message could not be sent (" + resp.status + ")."; });
  }
  function loadConfig() {
    return fetch(api + "/config", { method: "GET", credentials: "omit" }).then(function (resp) {
      if (!resp.ok) return problem(resp).then(function (d) { throw new Error(d); });
      return resp.json();
    }).then(function (cfg) {
      formToken = cfg.form_token;
      pollEvery = Math.max(2, cfg.poll_seconds || 5);
    });
  }
  function show(messages) {
    messages.forEach(function (m) {
      if (seen[m.id]) return;
      seen[m.id] = true;
      var li = el("li", { "class": m.from === "team" ? "team" : "visitor" });
      li.appendChild(el("strong", {}, m.from === "team" ? "Team: " : "You: "));
      li.appendChild(document.createTextNode(m.body));
      log.appendChild(li);
    });
  }
  function poll() {
    var t = token();
    if (!t) return Promise.resolve();
    return fetch(api + "/conversation", { credentials: "omit", headers: { "X-Holdfast-Visitor": t } })
      .then(function (resp) {
        if (resp.status === 404) { try { localStorage.removeItem(store); } catch (e) { /* ignore */ } return null; }
        return resp.ok ? resp.json() : null;
      })
      .then(function (conv) { if (conv) show(conv.messages); }, function () { /* offline: try later */ });
  }
  function startPolling() {
    if (timer) return;
    poll();
    timer = setInterval(poll, pollEvery * 1000);
  }

  launch.addEventListener("click", function () {
    var open = panel.hidden;
    panel.hidden = !open;
    launch.setAttribute("aria-expanded", String(open));
    if (open) {
      if (!formToken) loadConfig().catch(function (e) { say(e.message, true); });
      startPolling();
      (name.value ? message : name).focus();
    }
  });

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!message.value.trim()) { say("Please write a message.", true); message.focus(); return; }
    send.disabled = true;
    say("Sending…", false);
    var body = { message: message.value, form_token: formToken, website: website.value };
    if (name.value.trim()) body.name = name.value;
    if (email.value.trim()) body.email = email.value;
    if (userId) { body.user_id = userId; body.user_hash = userHash || ""; }
    var headers = { "Content-Type": "application/json" };
    var t = token();
    if (t) headers["X-Holdfast-Visitor"] = t;
    var ready = formToken ? Promise.resolve() : loadConfig();
    ready.then(function () {
      body.form_token = formToken;
      return fetch(api + "/messages", { method: "POST", credentials: "omit", headers: headers, body: JSON.stringify(body) });
    }).then(function (resp) {
      if (!resp.ok) return problem(resp).then(function (d) { throw new Error(d); });
      return resp.json();
    }).then(function (out) {
      if (out.visitor_token) keep(out.visitor_token);
      show([out.message]);
      message.value = "";
      say("Thanks! Your message was sent. Replies appear here.", false);
      startPolling();
    }).catch(function (e) {
      say(e && e.message ? e.message : "The message could not be sent; please try again.", true);
    }).then(function () { send.disabled = false; });
  });

  function mount() { document.body.appendChild(host); if (token()) startPolling(); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
