/*
 * 容错纠错助手 — web chat client.
 *
 * Plain ES2020, no dependencies. Talks to POST /api/chat (same origin, session cookie):
 *   {"open": true}       once on page load, so the server can greet / re-show the question
 *   {"text": "..."}      what the user typed (commands are plain text such as "/start")
 *   {"action": "..."}    a reply-button press; the action string is opaque to us
 * and renders the {"replies": [...], "commands": [...]} it gets back.
 *
 * Attachments go to POST /api/upload as multipart/form-data (one field, "file") and
 * get the same answer shape. Errors are {"error": "..."} with a non-200 status.
 *
 * A reply may carry "attachment": {kind, filename, size, url, note}: a file the bot sent (an
 * export, a chart), downloadable once from url by this session; photos are shown inline,
 * other files as a download link.
 *
 * A reply with "edit": true answering a button press rewrites the pressed message
 * instead of adding a new one (ticking a checkbox, adding a file to a list), like
 * Telegram's edit_text.
 *
 * All requests go through one queue that sends strictly one at a time, so the
 * server sees the user's inputs in the order they were made.
 */
"use strict";

(() => {
  const API_URL = "/api/chat";
  const UPLOAD_URL = "/api/upload";
  const MAX_UPLOAD_BYTES = 20 * 1024 * 1024; // same limit as the server (dialogs/steps.py)
  const TOO_LARGE_TEXT = "文件太大了：每个附件不能超过 20 MB。";
  const UPLOAD_BYTES_PER_MS = 64;     // ≈0.5 Mbit/s: the slowest link an upload may still finish on
  const COUNTER_THRESHOLD = 150;      // show the character counter above this length
  const MAX_INPUT_LINES = 5;          // the textarea grows up to this many lines, then scrolls
  const RETRY_FIRST_MS = 1000;        // network-failure backoff: 1s, 2s, 4s, … capped below
  const RETRY_MAX_MS = 15000;
  const RATE_WAIT_MAX_S = 60;         // the longest Retry-After the page waits out by itself
  const REQUEST_TIMEOUT_MS = 45000;   // a hung request would otherwise block the queue forever
  const OFFLINE_TEXT = "无法连接服务器，正在重试…";

  const byId = (id) => document.getElementById(id);

  const ui = {
    messages: byId("messages"),
    bannerSlot: byId("banner-slot"),
    form: byId("composer-form"),
    input: byId("input"),
    attachButton: byId("attach-button"),
    fileInput: byId("file-input"),
    menuButton: byId("menu-button"),
    menu: byId("command-menu"),
    menuList: byId("command-list"),
    counter: byId("counter"),
    banner: null,   // the offline banner while it is shown
    typing: null,   // the "bot is typing" bubble while a request is in flight
  };

  const state = {
    queue: [],         // jobs waiting to be sent, oldest first
    sending: false,    // true while the queue worker runs: guarantees one request at a time
    commands: [],      // last command list from the server, shown in the menu
    wakeRetry: null,   // ends the current backoff wait early (the "online" event, "立即重试")
  };

  /* ------------------------------------------------------------------ */
  /* Small DOM helpers                                                   */
  /* ------------------------------------------------------------------ */

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    // textContent, never innerHTML: everything from the server or the user is shown as text.
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function withTestId(node, testId) {
    node.setAttribute("data-testid", testId);
    return node;
  }

  /** Add a node to the conversation, keeping the typing indicator last. */
  function appendMessage(node) {
    const anchor = ui.typing && ui.typing.parentNode === ui.messages ? ui.typing : null;
    ui.messages.insertBefore(node, anchor);
    scrollToBottom();
  }

  function scrollToBottom() {
    // Wait a frame so the new node has been laid out and scrollHeight is final.
    requestAnimationFrame(() => {
      const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      ui.messages.scrollTo({
        top: ui.messages.scrollHeight,
        behavior: reduceMotion ? "auto" : "smooth",
      });
    });
  }

  /**
   * Keep the newest message in view when the list itself gets shorter: the
   * textarea grows, the counter appears, or the phone keyboard opens. Uses the
   * height from before the resize to decide whether the user was at the bottom.
   */
  function keepBottomOnResize() {
    if (typeof ResizeObserver !== "function") return;
    let lastHeight = ui.messages.clientHeight;
    new ResizeObserver(() => {
      const list = ui.messages;
      const wasAtBottom = list.scrollHeight - list.scrollTop - lastHeight < 40;
      lastHeight = list.clientHeight;
      if (wasAtBottom) list.scrollTop = list.scrollHeight;
    }).observe(ui.messages);
  }

  /* ------------------------------------------------------------------ */
  /* Rendering messages                                                  */
  /* ------------------------------------------------------------------ */

  /** Show the user's own message. It stays "pending" (faded) until the server answers. */
  function addUserBubble(text) {
    const group = el("div", "msg-group user");
    const bubble = withTestId(el("div", "bubble user-bubble pending", text), "user-msg");
    group.append(bubble);
    appendMessage(group);
    return bubble;
  }

  function markDelivered(bubble) {
    bubble.classList.remove("pending");
  }

  /** The press turned out to be a toggle, not an answer: its label is not part of the conversation. */
  function removeUserBubble(bubble) {
    const group = bubble.parentNode;
    if (group) group.remove();
  }

  function markFailed(bubble) {
    bubble.classList.remove("pending");
    bubble.classList.add("failed");
    bubble.parentNode.append(el("div", "failed-note", "未发送"));
  }

  function renderReplies(replies) {
    if (!Array.isArray(replies)) return;
    for (const reply of replies) {
      if (reply && typeof reply === "object") renderReply(reply);
    }
  }

  /** One bot reply: a bubble with the text, then its buttons as a grid. */
  function renderReply(reply) {
    const group = el("div", "msg-group bot");
    if (fillBotMessage(group, reply)) appendMessage(group);
  }

  /**
   * Put a reply's text and buttons into a message group, replacing what was there.
   * Shared by new messages and in-place edits so both look exactly alike.
   * Returns false (and leaves the group alone) when the reply has nothing to show.
   */
  function fillBotMessage(group, reply) {
    const text = typeof reply.text === "string" ? reply.text : "";
    const rows = normaliseButtonRows(reply.buttons);
    const file = renderAttachment(reply.attachment);
    if (!text && rows.length === 0 && !file) return false;

    group.replaceChildren();
    if (text) group.append(withTestId(el("div", "bubble bot-bubble", text), "bot-msg"));
    if (file) group.append(file);
    group.classList.toggle("has-buttons", rows.length > 0);
    if (rows.length > 0) group.append(renderKeyboard(rows));
    return true;
  }

  /**
   * A file the bot sent: a photo inline, anything else as a download link. Only our own
   * one-time links are accepted, so a malformed reply cannot point the page elsewhere.
   */
  function renderAttachment(file) {
    if (!file || typeof file !== "object") return null;
    if (typeof file.url !== "string" || !file.url.startsWith("/api/files/")) return null;
    const name = typeof file.filename === "string" && file.filename ? file.filename : "file";
    const box = withTestId(el("div", "bubble bot-bubble attachment"), "bot-file");
    if (file.kind === "photo") {
      const img = el("img", "attachment-photo");
      img.src = file.url;
      img.alt = name;
      box.append(img);
      return box;
    }
    const link = el("a", "attachment-link", `📎 ${name}${formatSize(file.size)}`);
    link.href = file.url;
    link.download = name;
    box.append(link);
    if (typeof file.note === "string" && file.note) box.append(el("div", "attachment-note", file.note));
    return box;
  }

  function formatSize(size) {
    if (typeof size !== "number" || !(size >= 0)) return "";
    if (size < 1024 * 1024) return `（${Math.max(1, Math.round(size / 1024))} KB）`;
    return `（${(size / (1024 * 1024)).toFixed(1)} MB）`;
  }

  /** An edit reply only counts when it answers a press; elsewhere it is just a new message. */
  function isEdit(reply) {
    return Boolean(reply && typeof reply === "object" && reply.edit === true);
  }

  /** Keep only well-formed buttons, so one bad entry cannot break the whole reply. */
  function normaliseButtonRows(buttons) {
    if (!Array.isArray(buttons)) return [];
    return buttons
      .filter(Array.isArray)
      .map((row) => row.filter((b) => b && typeof b.action === "string"))
      .filter((row) => row.length > 0);
  }

  function renderKeyboard(rows) {
    const keyboard = el("div", "keyboard");
    keyboard.setAttribute("role", "group");
    keyboard.setAttribute("aria-label", "可选项");
    for (const row of rows) {
      const rowEl = el("div", "keyboard-row");
      for (const spec of row) {
        const label = typeof spec.label === "string" && spec.label ? spec.label : spec.action;
        const button = withTestId(el("button", "reply-button", label), "reply-button");
        button.type = "button";
        button.addEventListener("click", () => onReplyButton(keyboard, button, spec.action, label));
        rowEl.append(button);
      }
      keyboard.append(rowEl);
    }
    return keyboard;
  }

  function setKeyboardEnabled(keyboard, enabled) {
    for (const button of keyboard.querySelectorAll("button")) button.disabled = !enabled;
  }

  function showError(message) {
    const line = withTestId(el("p", "system-line error", message), "error");
    appendMessage(line);
  }

  /** A "…" bubble while we wait for the server, so a slow answer does not look like a hang. */
  function setTyping(on) {
    if (on && !ui.typing) {
      ui.typing = el("div", "typing");
      ui.typing.setAttribute("aria-hidden", "true"); // not worth announcing to screen readers
      ui.typing.append(el("span"), el("span"), el("span"));
      ui.messages.append(ui.typing);
      scrollToBottom();
    } else if (!on && ui.typing) {
      ui.typing.remove();
      ui.typing = null;
    }
  }

  /* ------------------------------------------------------------------ */
  /* Offline banner                                                      */
  /* ------------------------------------------------------------------ */

  function showOfflineBanner() {
    if (ui.banner) return;
    const banner = withTestId(el("div", "offline-banner"), "offline-banner");
    banner.setAttribute("role", "status");
    banner.append(el("span", "", OFFLINE_TEXT));
    const retry = el("button", "offline-banner-retry", "立即重试");
    retry.type = "button";
    retry.addEventListener("click", wakeRetryNow);
    banner.append(retry);
    ui.bannerSlot.append(banner);
    ui.banner = banner;
  }

  function hideOfflineBanner() {
    if (!ui.banner) return;
    ui.banner.remove();
    ui.banner = null;
  }

  /* ------------------------------------------------------------------ */
  /* Talking to the server                                               */
  /* ------------------------------------------------------------------ */

  /**
   * Queue a request. job = { body, onDelivered(), onFailed(), and optionally
   * url (default API_URL), timeoutMs, onEdit(reply), tooLargeText }.
   * body is a plain object (sent as JSON) or a FormData (sent as multipart).
   * onDelivered runs on a 200 answer, onFailed on an error answer; onEdit takes
   * a leading edit reply (only button presses set it).
   * Network failures never reach the job: they are retried until they succeed.
   */
  function enqueue(job) {
    state.queue.push(job);
    drainQueue();
  }

  async function drainQueue() {
    if (state.sending) return; // the running worker will pick the new job up
    state.sending = true;
    try {
      while (state.queue.length > 0) {
        const job = state.queue[0];
        const result = await deliver(job);
        state.queue.shift();
        handleResult(job, result);
      }
    } finally {
      state.sending = false;
      setTyping(false);
    }
  }

  /** Send one request, retrying with backoff until the server gives any HTTP answer. */
  async function deliver(job) {
    let delay = RETRY_FIRST_MS;
    for (;;) {
      setTyping(true);
      try {
        const result = await postOnce(job);
        if (result.status === 429) {
          // Too fast for the rate limit: nothing was done, so wait as asked and send it again
          // rather than show an error and make the person type it once more.
          await waitForRetry(Math.min(result.retryAfter || 1, RATE_WAIT_MAX_S) * 1000);
          continue;
        }
        if (!isUnreachable(result)) {
          hideOfflineBanner();
          return result;
        }
      } catch (err) {
        // fetch rejects only for network trouble (offline, DNS, refused, timeout): retry below.
      }
      setTyping(false);
      showOfflineBanner();
      await waitForRetry(delay);
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }

  async function postOnce(job) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), job.timeoutMs || REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(job.url || API_URL, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        ...encodeBody(job.body),
        signal: controller.signal,
      });
      const raw = await response.text();
      const retryAfter = Number(response.headers.get("Retry-After")) || 0;
      return { ok: response.ok, status: response.status, data: parseJson(raw), retryAfter };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * JSON for chat messages. For a FormData we must not set Content-Type: the
   * browser adds the multipart boundary itself. A FormData can be sent again
   * unchanged, so offline retries need nothing special.
   */
  function encodeBody(body) {
    const csrf = csrfToken();
    if (body instanceof FormData) return { headers: { Accept: "application/json", "X-CSRF-Token": csrf }, body };
    return {
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    };
  }

  /**
   * The CSRF token of this session: the cookie is read at each request, since
   * following an invitation link replaces the session (and its token) after
   * the page was loaded in another tab; the meta tag is the fallback.
   */
  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)rongcuo_csrf=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function parseJson(raw) {
    try {
      return JSON.parse(raw);
    } catch (err) {
      return null;
    }
  }

  /**
   * A 502/503/504 without our JSON error body comes from a proxy in front of the
   * bot while the bot itself is down or restarting: treat it like a network failure
   * and retry, instead of showing an error the user can do nothing about.
   */
  function isUnreachable(result) {
    const gatewayError = result.status === 502 || result.status === 503 || result.status === 504;
    return gatewayError && !(result.data && typeof result.data.error === "string");
  }

  /** Wait `ms`, or less if wakeRetryNow() is called (back online, or the user taps 立即重试). */
  function waitForRetry(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        state.wakeRetry = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      state.wakeRetry = done;
    });
  }

  function wakeRetryNow() {
    if (state.wakeRetry) state.wakeRetry();
  }

  function handleResult(job, result) {
    try {
      const data = result.data && typeof result.data === "object" ? result.data : null;
      if (result.ok && data) {
        job.onDelivered();
        renderReplies(takeEdit(job, data.replies));
        updateCommands(data.commands);
        return;
      }
      job.onFailed();
      showError(errorText(result, data, job));
    } catch (err) {
      // A rendering bug must not stop the queue worker: log it and carry on.
      console.error("chat: failed to handle response", err);
    }
  }

  /** Hand a leading edit reply to the job that can apply it; the rest are appended as usual. */
  function takeEdit(job, replies) {
    if (!job.onEdit || !Array.isArray(replies) || !isEdit(replies[0])) return replies;
    job.onEdit(replies[0]);
    return replies.slice(1);
  }

  function errorText(result, data, job) {
    if (data && typeof data.error === "string" && data.error.trim()) return data.error;
    // A proxy in front of the bot may refuse a big upload with its own HTML page.
    if (result.status === 413 && job.tooLargeText) return job.tooLargeText;
    if (result.ok) return "服务器返回了无法识别的内容，请稍后再试。";
    return `服务器出错（HTTP ${result.status}），请稍后再试。`;
  }

  /* ------------------------------------------------------------------ */
  /* User actions                                                        */
  /* ------------------------------------------------------------------ */

  function onReplyButton(keyboard, button, action, label) {
    if (button.disabled) return;
    // Read before disabling and before the label bubble scrolls the list: an edit restores both.
    const before = { focused: document.activeElement === button, scrollTop: ui.messages.scrollTop };
    // Disable at once: a quick double tap must not send the action twice.
    setKeyboardEnabled(keyboard, false);
    button.classList.add("chosen");
    const bubble = addUserBubble(label);
    enqueue({
      body: { action },
      onDelivered: () => markDelivered(bubble),
      onEdit: (reply) => {
        removeUserBubble(bubble);
        editPressedMessage(keyboard, button, reply, before);
      },
      onFailed: () => {
        // The server refused the press: let the user choose again.
        markFailed(bubble);
        button.classList.remove("chosen");
        setKeyboardEnabled(keyboard, true);
      },
    });
  }

  /**
   * Rewrite the message whose button was pressed. The old buttons are replaced,
   * so keyboard focus moves to the button in the same place in the new grid.
   * before = { focused, scrollTop } as they were when the button was pressed.
   */
  function editPressedMessage(keyboard, button, reply, before) {
    const group = keyboard.parentNode;
    const index = Array.from(keyboard.querySelectorAll("button")).indexOf(button);
    if (!group || !fillBotMessage(group, reply)) {
      // Nothing to show: keep the message as it was and let the user press again.
      button.classList.remove("chosen");
      setKeyboardEnabled(keyboard, true);
      return;
    }
    const twin = group.querySelectorAll(".reply-button")[index];
    if (before.focused && twin) twin.focus({ preventScroll: true });
    restoreScroll(before.scrollTop, twin || group);
  }

  /**
   * The label bubble scrolled the list to the bottom, but an edit adds nothing
   * there: go back to where the user was ticking, keeping that button in sight.
   * Runs in a frame so it comes after the scroll queued by the bubble; replies
   * appended after the edit queue their own scroll to the bottom after this one.
   */
  function restoreScroll(scrollTop, target) {
    requestAnimationFrame(() => {
      ui.messages.scrollTo({ top: scrollTop, behavior: "auto" });
      target.scrollIntoView({ block: "nearest" });
    });
  }

  /** Send typed text. If the server rejects it, the text goes back into the box. */
  function sendText(text, { restoreOnFail }) {
    const bubble = addUserBubble(text.trim());
    enqueue({
      body: { text: text.trim() },
      onDelivered: () => markDelivered(bubble),
      onFailed: () => {
        markFailed(bubble);
        if (restoreOnFail) restoreInput(text);
      },
    });
  }

  function submitInput() {
    const text = ui.input.value;
    if (!text.trim()) return;
    ui.input.value = "";
    updateInputUi();
    closeMenu(false);
    sendText(text, { restoreOnFail: true });
  }

  /** Put failed text back without overwriting anything typed since. */
  function restoreInput(text) {
    const current = ui.input.value;
    ui.input.value = current.trim() ? `${text}\n${current}` : text;
    updateInputUi();
  }

  /* ------------------------------------------------------------------ */
  /* Attachments                                                         */
  /* ------------------------------------------------------------------ */

  function onFileChosen() {
    const file = ui.fileInput.files && ui.fileInput.files[0];
    // Clear it now, or choosing the same file again would not fire "change".
    ui.fileInput.value = "";
    if (file) sendFile(file);
  }

  /** Refuse oversized files here: uploading 100 MB only to be told "too large" wastes the user's data. */
  function sendFile(file) {
    if (file.size > MAX_UPLOAD_BYTES) {
      showError(TOO_LARGE_TEXT);
      return;
    }
    const bubble = addUserBubble(`📎 ${file.name} (${formatBytes(file.size)})`);
    const form = new FormData();
    form.append("file", file, file.name);
    enqueue({
      url: UPLOAD_URL,
      body: form,
      timeoutMs: uploadTimeout(file.size),
      tooLargeText: TOO_LARGE_TEXT,
      onDelivered: () => markDelivered(bubble),
      onFailed: () => markFailed(bubble),
    });
  }

  /** A fixed timeout would abort (and retry forever) a big file on a slow phone link. */
  function uploadTimeout(bytes) {
    return REQUEST_TIMEOUT_MS + Math.ceil(bytes / UPLOAD_BYTES_PER_MS);
  }

  /**
   * Binary units, to match the server's 20 MB (20 × 1024 × 1024) limit. Not named formatSize:
   * a second declaration of that name silently replaced the attachment one above.
   */
  function formatBytes(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
    return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  }

  /* ------------------------------------------------------------------ */
  /* Input box                                                           */
  /* ------------------------------------------------------------------ */

  function onInputKeydown(event) {
    if (event.key !== "Enter" || event.shiftKey) return;
    // While a Chinese IME is composing, Enter confirms the candidate; it must not send.
    if (event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    submitInput();
  }

  function updateInputUi() {
    autoGrow();
    updateCounter();
  }

  /** Grow the textarea with its content, up to MAX_INPUT_LINES, then let it scroll. */
  function autoGrow() {
    const input = ui.input;
    const style = getComputedStyle(input);
    const lineHeight = parseFloat(style.lineHeight) || 22;
    const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    const maxHeight = lineHeight * MAX_INPUT_LINES + padding;

    input.style.height = "auto"; // shrink first so scrollHeight reflects the content
    const wanted = input.scrollHeight;
    input.style.height = `${Math.min(wanted, maxHeight)}px`;
    input.style.overflowY = wanted > maxHeight ? "auto" : "hidden";
  }

  function updateCounter() {
    const length = Array.from(ui.input.value).length; // count characters, not UTF-16 units
    const show = length > COUNTER_THRESHOLD;
    ui.counter.hidden = !show;
    if (show) ui.counter.textContent = `已输入 ${length} 字`;
  }

  /* ------------------------------------------------------------------ */
  /* Command menu                                                        */
  /* ------------------------------------------------------------------ */

  function updateCommands(commands) {
    if (!Array.isArray(commands)) return; // absent: keep the last list we had
    state.commands = commands.filter((c) => c && typeof c.command === "string" && c.command);
    if (!ui.menu.hidden) buildMenu();
  }

  function buildMenu() {
    ui.menuList.replaceChildren();
    if (state.commands.length === 0) {
      ui.menuList.append(el("li", "command-empty", "暂无可用命令"));
      return;
    }
    for (const { command, description } of state.commands) {
      const text = `/${command.replace(/^\//, "")}`;
      const item = withTestId(el("button", "command-item"), "menu-item");
      item.type = "button";
      item.append(el("span", "command-name", text));
      if (typeof description === "string" && description) {
        item.append(el("span", "command-desc", description));
      }
      item.addEventListener("click", () => {
        closeMenu(false);
        sendText(text, { restoreOnFail: false });
      });
      const li = el("li");
      li.append(item);
      ui.menuList.append(li);
    }
  }

  function openMenu() {
    buildMenu();
    ui.menu.hidden = false;
    ui.menuButton.setAttribute("aria-expanded", "true");
    const first = ui.menuList.querySelector("button");
    if (first) first.focus();
  }

  function closeMenu(returnFocus) {
    if (ui.menu.hidden) return;
    ui.menu.hidden = true;
    ui.menuButton.setAttribute("aria-expanded", "false");
    if (returnFocus) ui.menuButton.focus();
  }

  function onDocumentClick(event) {
    if (ui.menu.hidden) return;
    if (ui.menu.contains(event.target) || ui.menuButton.contains(event.target)) return;
    closeMenu(false);
  }

  function onDocumentKeydown(event) {
    if (event.key === "Escape" && !ui.menu.hidden) closeMenu(true);
  }

  /* ------------------------------------------------------------------ */
  /* Start-up                                                            */
  /* ------------------------------------------------------------------ */

  function init() {
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      submitInput();
    });
    ui.input.addEventListener("keydown", onInputKeydown);
    ui.input.addEventListener("input", updateInputUi);
    ui.attachButton.addEventListener("click", () => {
      closeMenu(false);
      ui.fileInput.click();
    });
    ui.fileInput.addEventListener("change", onFileChosen);
    ui.menuButton.addEventListener("click", () => (ui.menu.hidden ? openMenu() : closeMenu(false)));
    document.addEventListener("click", onDocumentClick);
    document.addEventListener("keydown", onDocumentKeydown);
    window.addEventListener("resize", autoGrow); // a new width changes how the text wraps
    window.addEventListener("online", wakeRetryNow); // back online: retry now, not after the backoff

    keepBottomOnResize();
    updateInputUi();

    // Let the server greet us or re-show the question the user was on.
    enqueue({ body: { open: true }, onDelivered: () => {}, onFailed: () => {} });

    // Focus the box on desktop only; on phones it would pop the keyboard over the greeting.
    if (window.matchMedia("(hover: hover) and (pointer: fine)").matches) ui.input.focus();
  }

  init();
})();
