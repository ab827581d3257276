// galen playground: a chat page over this server's own OpenAI-compatible API.
// No dependencies and no network but this server (the page's Content-Security-Policy says so too).
// Model output is only ever set as text (textContent), never parsed as HTML.
"use strict";

const HISTORY = "galen.playground.history"; // localStorage: the conversation, in this browser only
const KEY = "galen.playground.key"; // sessionStorage: the API key, for this tab's session only
const NUMBERS = { temperature: "temperature", top_p: "top-p", top_k: "top-k", max_tokens: "max-tokens", seed: "seed" };
const $ = (id) => document.getElementById(id);

const page = {
  config: { presets: {} }, // /ui/config.json: the sampling presets
  models: [], // /v1/models entries, with their capabilities
  history: [], // turns: {role, content, reasoning, toolCalls, media, note, meta}
  pending: [], // attachments for the next message: {kind, name, url}
  controller: null, // the AbortController of the answer being streamed
};

class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status; // 0: no HTTP answer (server down, connection lost, in-band error)
  }
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function showStatus(message) {
  $("status").textContent = message;
}

// -- talking to the server ---------------------------------------------------------------------

function headers() {
  const out = { "Content-Type": "application/json" };
  const key = sessionStorage.getItem(KEY);
  if (key) out.Authorization = `Bearer ${key}`;
  return out;
}

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { ...options, headers: headers() });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError("Cannot reach the server. Is galen serve still running?");
  }
  if (!response.ok) throw await httpError(response);
  return response;
}

async function httpError(response) {
  const status = response.status;
  let detail = `HTTP ${status}`;
  try {
    detail = (await response.json()).error?.message || detail;
  } catch {
    // not OpenAI's error JSON: keep the status line
  }
  if (status === 401) return new ApiError("The server did not accept the API key.", 401);
  if (status === 429) {
    const wait = response.headers.get("Retry-After");
    return new ApiError(`The server is busy. Try again${wait ? ` in ${wait} s` : " shortly"}. (${detail})`, 429);
  }
  return new ApiError(`The server refused the request (${status}): ${detail}`, status);
}

async function loadConfig() {
  try {
    page.config = await (await api("/ui/config.json")).json();
  } catch (err) {
    showStatus(err.message);
  }
  for (const name of Object.keys(page.config.presets)) $("preset").append(el("option", { value: name }, name));
}

async function loadModels() {
  try {
    page.models = (await (await api("/v1/models")).json()).data;
  } catch (err) {
    if (err.status === 401) {
      const had = sessionStorage.getItem(KEY);
      sessionStorage.removeItem(KEY);
      askForKey(had ? "The server did not accept that API key. Enter it again." : "This server needs an API key.");
    } else {
      showStatus(err.message);
    }
    return;
  }
  const previous = $("model").value; // a reload after a key keeps the user's choices
  $("model").replaceChildren(...page.models.map((m) => el("option", { value: m.id }, m.id)));
  if (page.models.some((m) => m.id === previous)) $("model").value = previous;
  else applyModel();
  showStatus("");
}

function askForKey(why) {
  $("key-why").textContent = why;
  $("key-form").hidden = false;
  $("api-key").focus();
}

// -- settings ----------------------------------------------------------------------------------

function currentModel() {
  return page.models.find((m) => m.id === $("model").value);
}

function applyModel() {
  const caps = currentModel()?.capabilities || {};
  $("thinking").disabled = $("thinking-budget").disabled = !caps.thinking;
  $("thinking").checked = Boolean(caps.thinking && caps.thinking_default);
  // Empty sends no budget: the model's default (the embedded SmolLM2 has one) applies.
  const budget = caps.thinking_budget;
  $("thinking-budget").placeholder = budget == null ? "none" : `model default: ${budget}`;
  $("tools").disabled = $("tool-choice").disabled = !caps.tools;
  const media = caps.media || [];
  $("attach-wrap").hidden = media.length === 0;
  $("attach").accept = media.map((kind) => `${kind}/*`).join(",");
  page.pending = page.pending.filter((item) => media.includes(item.kind));
  renderPending();
}

function applyPreset() {
  const preset = page.config.presets[$("preset").value];
  $("temperature").value = preset ? preset.temperature : "";
  $("top-p").value = preset ? preset.top_p : "";
  $("top-k").value = preset ? preset.top_k : "";
}

function requestBody() {
  const caps = currentModel()?.capabilities || {};
  const body = { stream: true, stream_options: { include_usage: true } };
  if ($("model").value) body.model = $("model").value;
  if ($("preset").value) body.preset = $("preset").value;
  for (const [field, id] of Object.entries(NUMBERS)) {
    if ($(id).value !== "") body[field] = Number($(id).value);
  }
  if (caps.thinking) {
    body.chat_template_kwargs = { enable_thinking: $("thinking").checked };
    if ($("thinking").checked && $("thinking-budget").value !== "") {
      body.thinking_budget = Number($("thinking-budget").value);
    }
  }
  const tools = $("tools").value.trim();
  if (tools && !$("tools").disabled) {
    try {
      body.tools = JSON.parse(tools);
    } catch (err) {
      throw new ApiError(`Tools are not valid JSON: ${err.message}`);
    }
    body.tool_choice = $("tool-choice").value;
  }
  return body;
}

// -- the conversation --------------------------------------------------------------------------

function toMessages(turns) {
  const kept = turns.filter((t) => t.role === "user" || t.content || t.toolCalls?.length);
  return kept.map((t) => {
    if (t.role === "user") {
      const parts = (t.media || []).filter((m) => m.url).map((m) =>
        m.kind === "video" ? { type: "video_url", video_url: { url: m.url } } : { type: "image_url", image_url: { url: m.url } });
      if (!parts.length) return { role: "user", content: t.content };
      if (t.content) parts.push({ type: "text", text: t.content });
      return { role: "user", content: parts };
    }
    const message = { role: "assistant", content: t.content };
    if (t.reasoning) message.reasoning_content = t.reasoning;
    if (t.toolCalls?.length) {
      message.tool_calls = t.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
    }
    return message;
  });
}

function loadHistory() {
  try {
    return JSON.parse(localStorage.getItem(HISTORY) || "[]");
  } catch {
    return [];
  }
}

function saveHistory() {
  const turns = page.history.map(({ view, ...turn }) => turn);
  try {
    localStorage.setItem(HISTORY, JSON.stringify(turns));
  } catch {
    // Over the browser's quota (large media): keep the words, drop the attached files.
    const light = turns.map((t) => ({ ...t, media: (t.media || []).map((m) => ({ ...m, url: null })) }));
    try {
      localStorage.setItem(HISTORY, JSON.stringify(light));
    } catch {
      showStatus("This browser's storage is full: the conversation is not saved.");
    }
  }
}

function renderTurn(turn) {
  const article = el("article", { class: `turn ${turn.role}` });
  article.append(el("h2", { class: "who" }, turn.role === "user" ? "You" : "Model"));
  if (turn.media?.length) article.append(mediaList(turn.media));
  const parts = {};
  if (turn.role === "assistant") {
    parts.thinking = el("details", { class: "thinking" });
    parts.summary = el("summary", {}, "Thinking");
    parts.reasoning = el("div", { class: "thinking-text" });
    parts.thinking.append(parts.summary, parts.reasoning);
    parts.calls = el("div", { class: "tool-calls" });
    article.append(parts.thinking, parts.calls);
  }
  parts.content = el("div", { class: "content" });
  parts.note = el("p", { class: "note" });
  parts.meta = el("p", { class: "meta" });
  article.append(parts.content, parts.note, parts.meta);
  $("log").append(article);
  turn.view = { article, parts };
  updateTurn(turn, false);
  return turn;
}

function updateTurn(turn, streaming) {
  const { parts } = turn.view;
  parts.content.textContent = (turn.content || "").trimStart(); // the newlines after </think>
  parts.note.textContent = turn.note || "";
  parts.meta.textContent = turn.meta || "";
  if (turn.role !== "assistant") return;
  parts.thinking.hidden = !turn.reasoning;
  parts.reasoning.textContent = (turn.reasoning || "").trimStart();
  parts.summary.textContent = streaming && !turn.content && !turn.toolCalls.length ? "Thinking…" : "Thinking";
  parts.calls.replaceChildren(...(turn.toolCalls || []).map(toolCallView));
  const log = $("log");
  if (log.scrollHeight - log.scrollTop - log.clientHeight < 80) log.scrollTop = log.scrollHeight;
}

function toolCallView(call) {
  const box = el("div", { class: "tool-call", role: "group", "aria-label": `Tool call: ${call.name}` });
  const head = el("p");
  head.append(el("span", { class: "badge" }, "Tool call"), " ", el("code", { class: "tool-name" }, call.name));
  let args = call.arguments;
  try {
    args = JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    // still streaming, or not JSON: show it as it came
  }
  box.append(head, el("pre", { class: "tool-args" }, args));
  return box;
}

function mediaList(media) {
  const list = el("div", { class: "media" });
  for (const item of media) {
    if (!item.url) list.append(el("span", { class: "hint" }, `${item.name} (not kept)`));
    else if (item.kind === "video") list.append(el("video", { src: item.url, controls: "", "aria-label": item.name }));
    else list.append(el("img", { src: item.url, alt: item.name }));
  }
  return list;
}

function removeTurn(turn) {
  turn.view.article.remove();
  page.history.splice(page.history.indexOf(turn), 1);
}

// -- sending and streaming ---------------------------------------------------------------------

async function send(event) {
  event?.preventDefault();
  const text = $("prompt").value.trim();
  if (page.controller || (!text && !page.pending.length)) return;
  let body;
  try {
    body = requestBody();
  } catch (err) {
    showStatus(err.message);
    return;
  }
  showStatus("");
  const user = renderTurn({ role: "user", content: text, media: page.pending });
  const answer = renderTurn({ role: "assistant", content: "", reasoning: "", toolCalls: [], note: "" });
  page.history.push(user, answer);
  body.messages = toMessages(page.history.slice(0, -1));
  const sent = { text: $("prompt").value, media: page.pending };
  $("prompt").value = "";
  page.pending = [];
  renderPending();
  setBusy(true);
  const started = performance.now();
  try {
    await stream(body, answer);
    answer.meta = describe(answer, started);
  } catch (err) {
    if (err.name === "AbortError") {
      answer.note = "Stopped.";
    } else if (!answer.content && !answer.reasoning && !answer.toolCalls.length) {
      // Nothing came back: undo the turn, give the message back to edit or resend.
      removeTurn(answer);
      removeTurn(user);
      $("prompt").value = sent.text;
      page.pending = sent.media;
      renderPending();
      showStatus(err.message);
      if (err.status === 401) askForKey("The server did not accept the API key. Enter it and send again.");
    } else {
      answer.note = `Interrupted: ${err.message}`;
      showStatus(err.message);
    }
  } finally {
    page.controller = null;
    setBusy(false);
    if (answer.view.article.isConnected) updateTurn(answer, false);
    saveHistory();
  }
}

async function stream(body, answer) {
  page.controller = new AbortController();
  const options = { method: "POST", body: JSON.stringify(body), signal: page.controller.signal };
  const reader = (await api("/v1/chat/completions", options)).body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new ApiError("The connection to the server was lost during the answer.");
    }
    if (chunk.done) throw new ApiError("The server closed the connection before the answer was finished.");
    buffer += decoder.decode(chunk.value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (readEvent(event, answer) === "done") return;
    }
  }
}

function readEvent(event, answer) {
  const data = event.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trim()).join("\n");
  if (!data) return null;
  if (data === "[DONE]") return "done";
  const chunk = JSON.parse(data);
  if (chunk.error) throw new ApiError(`The server stopped the answer: ${chunk.error.message}`);
  if (chunk.usage) answer.usage = chunk.usage;
  for (const choice of chunk.choices || []) {
    const delta = choice.delta || {};
    answer.reasoning += delta.reasoning_content ?? delta.reasoning ?? "";
    answer.content += delta.content ?? "";
    for (const call of delta.tool_calls || []) {
      const known = answer.toolCalls[call.index] || (answer.toolCalls[call.index] = { id: call.id, name: "", arguments: "" });
      known.name += call.function?.name ?? "";
      known.arguments += call.function?.arguments ?? "";
    }
    if (choice.finish_reason) answer.finish = choice.finish_reason;
  }
  updateTurn(answer, true);
  return null;
}

function describe(answer, started) {
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const usage = answer.usage;
  const tokens = usage ? `${usage.completion_tokens} tokens (${usage.completion_tokens_details?.reasoning_tokens ?? 0} thinking), ` : "";
  return `${tokens}${seconds} s, finished: ${answer.finish || "?"}`;
}

function setBusy(busy) {
  $("send").disabled = busy;
  $("stop").disabled = !busy;
  $("log").setAttribute("aria-busy", String(busy));
}

// -- attachments -------------------------------------------------------------------------------

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function attach() {
  const media = currentModel()?.capabilities?.media || [];
  for (const file of $("attach").files) {
    const kind = file.type.split("/")[0];
    if (!media.includes(kind)) {
      showStatus(`${file.name}: this model takes ${media.join(" and ") || "no"} files, not ${kind}.`);
      continue;
    }
    page.pending.push({ kind, name: file.name, url: await readFile(file) });
  }
  $("attach").value = "";
  renderPending();
}

function renderPending() {
  const items = page.pending.map((item, i) => {
    const box = el("div", { class: "pending" });
    box.append(mediaList([item]));
    const remove = el("button", { type: "button", "aria-label": `Remove ${item.name}` }, "×");
    remove.addEventListener("click", () => {
      page.pending.splice(i, 1);
      renderPending();
    });
    box.append(remove);
    return box;
  });
  $("attachments").replaceChildren(...items);
}

// -- start -------------------------------------------------------------------------------------

function wire() {
  $("composer").addEventListener("submit", send);
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) send(e);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") page.controller?.abort();
  });
  $("stop").addEventListener("click", () => page.controller?.abort());
  $("model").addEventListener("change", applyModel);
  $("preset").addEventListener("change", applyPreset);
  $("attach").addEventListener("change", attach);
  $("new-chat").addEventListener("click", () => {
    page.controller?.abort();
    page.history = [];
    $("log").replaceChildren();
    saveHistory();
    $("prompt").focus();
  });
  $("key-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, $("api-key").value.trim());
    $("api-key").value = "";
    $("key-form").hidden = true;
    await loadModels();
  });
}

async function boot() {
  wire();
  if (window.matchMedia("(min-width: 900px)").matches) $("settings-panel").open = true;
  for (const turn of loadHistory()) page.history.push(renderTurn(turn));
  await loadConfig();
  await loadModels();
}

boot();
