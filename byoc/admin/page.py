"""The admin page's HTML: one self-contained document (inline CSS and JS, nothing fetched).

Everything shown is escaped. A URL's secret path segment (`.../webhook/<secret>`, used by
channels that authenticate with the URL itself) is masked on screen; its copy button still
copies the whole URL, since that is what must be pasted. Every text that came from upstream or
from the store (dead letters' errors and messages, refusal reasons, install instructions) goes
through `byoc.redaction.displayable` first: no credential of the settings, no credentialed URL.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from html import escape

from .. import codec
from ..models import Text
from ..redaction import displayable
from ..status import BridgeStatus, ChannelStatus
from ..store.queue import DeadLetter

__all__ = ["admin_page", "login_page", "masked_url", "off_page"]

_STYLE = """
:root { --fg:#1d2433; --muted:#5b6478; --line:#dfe3ea; --bg:#f6f7f9; --ok:#137a3a;
        --warn:#a35b00; --bad:#b3261e; --accent:#2456d6; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
       color:var(--fg); background:var(--bg); }
header { background:#fff; border-bottom:1px solid var(--line); padding:14px 24px;
         display:flex; gap:12px; align-items:center; }
header h1 { font-size:18px; margin:0; }
main { max-width:1100px; margin:0 auto; padding:20px 24px 48px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:16px 20px;
          margin:0 0 18px; }
h2 { font-size:16px; margin:0 0 10px; }
p.hint { color:var(--muted); margin:4px 0 10px; font-size:14px; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px;
         font-weight:600; border:1px solid currentColor; }
.badge.demo { color:#fff; background:var(--warn); border-color:var(--warn); }
.ok { color:var(--ok); } .warn { color:var(--warn); } .bad { color:var(--bad); }
.url { display:flex; gap:8px; align-items:center; margin:6px 0; flex-wrap:wrap; }
code { font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
       background:var(--bg); border:1px solid var(--line); border-radius:4px; padding:3px 6px;
       word-break:break-all; }
button { font:inherit; font-size:13px; padding:4px 10px; border-radius:5px; cursor:pointer;
         border:1px solid var(--accent); background:#fff; color:var(--accent); }
button.primary { background:var(--accent); color:#fff; }
button.danger { border-color:var(--bad); color:var(--bad); }
button[data-state=copied] { border-color:var(--ok); color:var(--ok); }
table { border-collapse:collapse; width:100%; font-size:14px; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line);
         vertical-align:top; }
th { color:var(--muted); font-weight:600; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.flash { padding:10px 14px; border-radius:6px; background:#e8f3ec; border:1px solid #b7dcc4;
         margin-bottom:18px; }
.flash.bad { background:#fbeceb; border-color:#f0b8b4; }
form.inline { display:inline; }
.stats { display:flex; gap:28px; flex-wrap:wrap; }
.stats div b { font-size:22px; display:block; }
input[type=password] { font:inherit; padding:6px 8px; width:100%; max-width:420px;
                       border:1px solid var(--line); border-radius:5px; }
.grow { flex:1; }
"""

_SCRIPT = """
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  button.addEventListener("click", function () {
    var text = button.getAttribute("data-copy");
    var done = function (ok) {
      button.setAttribute("data-state", ok ? "copied" : "failed");
      button.textContent = ok ? "Copied \\u2713" : "Press Ctrl+C";
      if (!ok) {
        var shown = document.getElementById(button.getAttribute("data-for"));
        if (shown) { var r = document.createRange(); r.selectNodeContents(shown);
          var s = window.getSelection(); s.removeAllRanges(); s.addRange(r); }
      }
    };
    var fallback = function () {
      var area = document.createElement("textarea");
      area.value = text; area.setAttribute("readonly", "");
      area.style.position = "fixed"; area.style.opacity = "0";
      document.body.appendChild(area); area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      area.remove(); done(ok);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else { fallback(); }
  });
});
document.querySelectorAll("form[data-confirm]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
  });
});
"""


def _when(ts: float | None, now: float) -> str:
    if ts is None:
        return '<span class="muted">never</span>'
    stamp = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    ago = max(0.0, now - ts)
    if ago < 90:
        rel = f"{int(ago)} s ago"
    elif ago < 5400:
        rel = f"{int(ago // 60)} min ago"
    elif ago < 172800:
        rel = f"{int(ago // 3600)} h ago"
    else:
        rel = f"{int(ago // 86400)} days ago"
    return f'<span title="{stamp}">{escape(rel)}</span>'


def masked_url(url: str) -> str:
    """The URL with a secret path segment after `/webhook/` replaced by dots."""
    head, sep, secret = url.partition("/webhook/")
    if sep and secret:
        return f"{head}/webhook/{'•' * 8}"
    return url


def _copyable(url: str, ident: str) -> str:
    return (
        f'<div class="url"><code id="{ident}">{escape(masked_url(url))}</code>'
        f'<button type="button" data-copy="{escape(url)}" data-for="{ident}" '
        f'id="copy-{ident}">Copy</button></div>'
    )


def _document(title: str, body: str, nonce: str, label: str | None) -> str:
    badge = (
        f' <span class="badge demo" id="mode">{escape(label)}</span>' if label is not None else ""
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<style nonce="{nonce}">{_STYLE}</style></head><body>'
        f"<header><h1>byoc admin</h1>{badge}<span class=grow></span></header>"
        f"<main>{body}</main>"
        f'<script nonce="{nonce}">{_SCRIPT}</script></body></html>'
    )


def off_page(nonce: str) -> str:
    body = (
        "<section><h2>The admin page is off</h2>"
        "<p>It turns on when the bridge has an admin token. Set <code>BYOC_ADMIN_TOKEN</code> "
        "(or <code>admin_token</code> in the config file) to at least 16 random characters "
        "and restart the bridge, for example:</p>"
        "<p><code>export BYOC_ADMIN_TOKEN=$(python3 -c 'import secrets; "
        "print(secrets.token_urlsafe(32))')</code></p>"
        "<p class=hint>Then open this page again and log in with that token, or send it as "
        "<code>Authorization: Bearer &lt;token&gt;</code>.</p></section>"
    )
    return _document("byoc admin (off)", body, nonce, None)


def login_page(base: str, nonce: str, label: str | None, error: str | None = None) -> str:
    problem = f'<div class="flash bad" id="error">{escape(error)}</div>' if error else ""
    body = (
        f"{problem}<section><h2>Log in</h2>"
        "<p class=hint>Enter the bridge's admin token (<code>BYOC_ADMIN_TOKEN</code>).</p>"
        f'<form method="post" action="{escape(base)}/login">'
        '<p><input type="password" name="token" id="token" autocomplete="current-password" '
        'autofocus required aria-label="admin token"></p>'
        '<p><button class="primary" type="submit" id="login">Log in</button></p>'
        "</form></section>"
    )
    return _document("byoc admin: log in", body, nonce, label)


def _registration(row: ChannelStatus, index: int) -> str:
    ident = f"channel-{index}"
    if row.target_url is None:
        return (
            '<p class="warn">No URL yet: set <code>BYOC_PUBLIC_URL</code> to the HTTPS address '
            "of this bridge, then run <code>byoc install</code>.</p>"
        )
    if row.state == "registered":
        state = (
            '<p class="ok" data-state="registered">Registered automatically with the '
            "channel's API; nothing to paste.</p>"
        )
    elif row.state == "manual":
        how = (
            escape(displayable(row.instructions))
            if row.instructions
            else "Paste this URL in the channel."
        )
        state = f'<p class="warn" data-state="manual">Paste by hand: {how}</p>'
    else:
        state = (
            '<p class="warn" data-state="not-installed">Not installed yet: run '
            f"<code>byoc install {escape(row.name)}</code> while the bridge is serving "
            "(channels with an API register this URL; the others print where to paste it).</p>"
        )
    return _copyable(row.target_url, ident) + state


def _channels(view: BridgeStatus, now: float) -> str:
    if not view.channels:
        return "<section><h2>Channels</h2><p class=warn>No channel is enabled.</p></section>"
    blocks = []
    for index, row in enumerate(view.channels):
        blocks.append(
            f'<div class="channel" id="channel-row-{escape(row.name)}">'
            f"<h3>{escape(row.name)}</h3>"
            f"{_registration(row, index)}"
            "<table><tr><th>in</th><th>out</th><th>failed</th><th>last message in</th>"
            "<th>last reply out</th></tr>"
            f'<tr><td class="num" data-count="in">{row.messages_in}</td>'
            f'<td class="num" data-count="out">{row.messages_out}</td>'
            f'<td class="num" data-count="failed">{row.failed}</td>'
            f"<td>{_when(row.last_in, now)}</td><td>{_when(row.last_out, now)}</td></tr></table>"
            "</div>"
        )
    return (
        "<section><h2>Channels</h2>"
        "<p class=hint>Each channel calls its URL with what users write. Counts are since the "
        "bridge started.</p>" + "".join(blocks) + "</section>"
    )


def _helpdesk(view: BridgeStatus, now: float) -> str:
    desk = escape(view.helpdesk)
    if view.messaging_webhook_url is None:
        url = (
            '<p class="warn">Set <code>BYOC_PUBLIC_URL</code> to see the URL to paste '
            f"into {desk}.</p>"
        )
    else:
        url = _copyable(view.messaging_webhook_url, "messaging-webhook")
    return (
        f'<section id="helpdesk"><h2>{desk} webhook</h2>'
        f"<p class=hint>{escape(view.helpdesk_webhook_help)}</p>"
        f"{url}<p>Last help-desk event: {_when(view.last_helpdesk_event, now)}</p>"
        f"{_signature_state(view.helpdesk_signatures, desk)}</section>"
    )


def _signature_state(on: bool, desk: str) -> str:
    if on:
        return '<p class="ok" id="helpdesk-signatures">Signatures are verified.</p>'
    return (
        '<p class="bad" id="helpdesk-signatures"><b>Signatures are NOT verified</b> '
        f"(turned off in the {desk} settings): anyone who can reach the webhook URL can send "
        "messages to your users as an agent.</p>"
    )


def _refused(view: BridgeStatus, now: float) -> str:
    if not view.refused:
        return (
            '<section id="refused"><h2>Refused webhooks</h2>'
            '<p class="ok" id="no-refusals">None since the store was created.</p></section>'
        )
    rows = "".join(
        f'<tr id="refused-{escape(r.endpoint)}"><td><code>{escape(r.endpoint)}</code></td>'
        f'<td class="num">{r.count}</td><td>{_when(r.last_at, now)}</td>'
        f"<td>{r.last_status}</td><td>{escape(displayable(r.last_reason))}</td></tr>"
        for r in view.refused
    )
    return (
        '<section id="refused"><h2>Refused webhooks</h2>'
        "<p class=hint>Webhooks answered with an error since the store was created (by every "
        "replica sharing it). A run of 401s "
        "means a signature or secret does not match: usually a key or token from another "
        "account, or no Freshchat public key set yet; a &quot;stale webhook&quot; was sent "
        "longer ago than its sender retries (a replay, or a clock off). 400s are bodies the "
        "bridge cannot read; 413s are too large (see docs/troubleshooting.md).</p>"
        "<table><tr><th>endpoint</th><th>refused</th><th>last</th><th>status</th>"
        "<th>last reason</th></tr>" + rows + "</table></section>"
    )


def _summary(dead: DeadLetter) -> str:
    try:
        event = codec.decode(json.loads(dead.job.payload))
        parts = getattr(event, "parts", ())
        texts = [p.text for p in parts if isinstance(p, Text)]
        shown = displayable(" ".join(texts)) or f"{len(parts)} part(s)"
    except Exception:  # a payload this version cannot read is still listed
        shown = "(unreadable payload)"
    return shown if len(shown) <= 140 else shown[:139] + "…"


def _dead_letters(view: BridgeStatus, base: str, csrf: str, now: float) -> str:
    if not view.dead_letters:
        return (
            '<section id="dead-letters"><h2>Dead letters</h2>'
            '<p class="ok" id="no-dead-letters">None: everything accepted was delivered.</p>'
            "</section>"
        )
    rows = []
    for dead in view.dead_letters:
        last = dead.job.attempts[-1].error if dead.job.attempts else ""
        direction = "user → help desk" if dead.job.kind == "inbound" else "agent → user"
        action = f"{escape(base)}/dead-letters/{dead.id}"
        hidden = f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        rows.append(
            f'<tr id="dead-{dead.id}"><td class="num">{dead.id}</td>'
            # The log names the job (`hop=dead_letter job=17`): grep for it.
            f'<td class="num" data-job="{dead.job.id}">{dead.job.id}</td>'
            f"<td>{_when(dead.died_at, now)}</td><td>{escape(direction)}<br>"
            f"<code>{escape(displayable(dead.job.lane)[:300])}</code></td>"
            f"<td>{escape(_summary(dead))}</td>"
            f"<td>{escape(displayable(dead.reason))}<br>"
            f"<small>{escape(displayable(last)[:300])}</small></td>"
            f'<td><form class="inline" method="post" action="{action}/replay">{hidden}'
            f'<button class="primary" type="submit" id="replay-{dead.id}">Replay</button></form> '
            f'<form class="inline" method="post" action="{action}/drop" '
            f'data-confirm="Drop dead letter {dead.id} for good?">{hidden}'
            f'<button class="danger" type="submit" id="drop-{dead.id}">Drop</button></form>'
            "</td></tr>"
        )
    return (
        '<section id="dead-letters"><h2>Dead letters</h2>'
        "<p class=hint>Messages the bridge gave up on after its retries. Replay queues one "
        "again (fix the cause first); drop deletes it. The job is the number the log names "
        "(<code>job=…</code>) for every try.</p>"
        "<table><tr><th>#</th><th>job</th><th>when</th><th>direction</th><th>message</th>"
        "<th>why</th><th></th></tr>" + "".join(rows) + "</table></section>"
    )


def admin_page(
    view: BridgeStatus, *, base: str, csrf: str, nonce: str, now: float, flash: str | None = None
) -> str:
    """The whole page for an authenticated admin."""
    notice = ""
    if flash:
        bad = " bad" if flash.lower().startswith(("no ", "could not")) else ""
        notice = f'<div class="flash{bad}" id="flash">{escape(flash)}</div>'
    demo = ""
    if view.label is not None:
        demo = (
            f'<section><p class="warn"><b>{escape(view.label)}</b>: this bridge talks to '
            f"the bundled emulators, not to {escape(view.helpdesk)} or a real messenger. "
            "Nothing leaves this machine.</p></section>"
        )
    stats = (
        '<section><h2>Delivery</h2><div class="stats">'
        f'<div><b id="queue-depth">{view.queue_depth}</b>waiting or in flight</div>'
        f"<div><b>{view.in_flight}</b>in flight now</div>"
        f'<div><b id="dead-count">{len(view.dead_letters)}</b>dead letters</div>'
        f"<div><b>{escape(view.delivery)}</b>delivery mode</div></div>"
        f"<p class=hint>Public URL: <code>{escape(view.public_url or 'not set')}</code> · "
        f'<a href="{escape(base)}">refresh</a></p>'
        f'<form class="inline" method="post" action="{escape(base)}/logout">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        '<button type="submit" id="logout">Log out</button></form></section>'
    )
    body = (
        notice
        + demo
        + _helpdesk(view, now)
        + _channels(view, now)
        + _refused(view, now)
        + stats
        + _dead_letters(view, base, csrf, now)
    )
    return _document("byoc admin", body, nonce, view.label)
