// Holdfast console: progressive enhancement only. Pages read without this file; with it,
// htmx's requests carry the session's CSRF token, and the keyboard moves through the inbox.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";
  document.addEventListener("htmx:configRequest", function (event) {
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });

  // A form whose answer replaces the page's content (settings) shows a refusal too: the page
  // comes back with what was wrong (422, 401, 409 …), which htmx would otherwise not swap in.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var type = (xhr && xhr.getResponseHeader("Content-Type")) || "";
    var target = event.detail.target;
    // A box that shows its own refusal (the invoice editor's live totals) is swapped too.
    var shows = target && (target.id === "content" || target.hasAttribute("data-swap-refusal"));
    if (xhr.status >= 400 && type.indexOf("text/html") === 0 && shows) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  // Inbox: j/k move, Enter opens, / searches. Ticket: r reply, n note, e close. ? shows help.
  var rows = [];
  var at = -1;
  function collect() {
    rows = Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
    at = rows.length ? Math.min(Math.max(at, 0), rows.length - 1) : -1;
  }
  collect();
  function mark() {
    rows.forEach(function (row, i) {
      row.classList.toggle("selected", i === at);
      if (i === at) {
        row.setAttribute("aria-current", "true");
      } else {
        row.removeAttribute("aria-current");
      }
    });
    if (at >= 0) {
      rows[at].scrollIntoView({ block: "nearest" });
    }
  }
  mark();
  // After htmx swaps new content in (live updates), the rows are new.
  document.addEventListener("htmx:afterSwap", function () {
    collect();
    mark();
  });

  // Live updates from the event stream: a notice names what changed, never the record; the
  // page fetches what it shows again through its own permission-checked route.
  var live = document.querySelector("[data-live]");
  if (live && window.EventSource && window.htmx) {
    var what = live.getAttribute("data-live");
    var source = new EventSource("/api/v1/events");
    var refresh = function (event) {
      var notice = {};
      try {
        notice = JSON.parse(event.data || "{}");
      } catch (e) {
        notice = {};
      }
      if (what === "inbox") {
        window.htmx.ajax("GET", window.location.pathname + window.location.search, {
          target: "#inbox-list",
          select: "#inbox-list",
          swap: "outerHTML",
        });
      } else if (what.indexOf("ticket:") === 0) {
        var id = what.slice("ticket:".length);
        if (!notice.ticket_id || notice.ticket_id === id) {
          window.htmx.ajax("GET", "/app/tickets/" + id + "/conversation", {
            target: "#conversation",
            swap: "outerHTML",
          });
        }
      }
    };
    ["ticket.created", "ticket.updated", "message.created", "message.delivery_updated", "resync"].forEach(
      function (name) {
        source.addEventListener(name, refresh);
      }
    );
    // Someone else writing an answer to this ticket: say so for half a minute.
    var meMeta = document.querySelector('meta[name="user-id"]');
    var me = meMeta ? meMeta.getAttribute("content") : "";
    var shown = document.getElementById("replying");
    var hideAt = 0;
    source.addEventListener("ticket.replying", function (event) {
      var notice = {};
      try {
        notice = JSON.parse(event.data || "{}");
      } catch (e) {
        return;
      }
      if (!shown || what !== "ticket:" + notice.ticket_id || notice.user_id === me) {
        return;
      }
      shown.textContent = "Another team member is writing an answer to this ticket.";
      shown.hidden = false;
      hideAt = Date.now() + 30000;
      window.setTimeout(function () {
        if (Date.now() >= hideAt) {
          shown.hidden = true;
        }
      }, 30500);
    });
    window.addEventListener("beforeunload", function () {
      source.close();
    });
  }
  function focus(id) {
    var el = document.getElementById(id);
    if (el) {
      el.focus();
      return true;
    }
    return false;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    var key = event.key;
    if (key === "j" && rows.length) {
      at = Math.min(at + 1, rows.length - 1);
      mark();
    } else if (key === "k" && rows.length) {
      at = Math.max(at - 1, 0);
      mark();
    } else if (key === "Enter" && at >= 0) {
      var link = rows[at].querySelector("a");
      if (link) {
        link.click();
      }
    } else if (key === "/") {
      if (!focus("search")) {
        return;
      }
    } else if (key === "r") {
      var reply = document.getElementById("kind-reply");
      if (reply) {
        reply.checked = true;
      }
      if (!focus("message-body")) {
        return;
      }
    } else if (key === "n") {
      var note = document.getElementById("kind-note");
      if (note) {
        note.checked = true;
      }
      if (!focus("message-body")) {
        return;
      }
    } else if (key === "e") {
      var close = document.getElementById("close-ticket");
      if (!close) {
        return;
      }
      close.click();
    } else if (key === "?") {
      var help = document.getElementById("shortcuts");
      if (!help) {
        return;
      }
      help.hidden = !help.hidden;
    } else {
      return;
    }
    event.preventDefault();
  });
})();
