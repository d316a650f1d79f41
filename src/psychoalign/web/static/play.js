// The game: the image on a canvas that fits the window, clicks sent in image pixels.
// The server is the authority on clicks left, time left, score and the model's guess.
import { ApiError, api, clearToken, go, token } from "./common.js";

const $ = (id) => document.getElementById(id);
const canvas = $("board");
const stage = $("stage");
const ctx = canvas.getContext("2d");

let trial = null;     // the server's TRIAL
let bitmap = null;    // the trial's image
let pending = [];     // clicks sent, not yet answered: {x, y} in image pixels
let queue = Promise.resolve();
let deadline = 0;     // performance.now() when the server's time runs out (display only)
let cursor = null;    // the keyboard target, image pixels
let ending = false;
let lastPractice = null;

// --- layout: the largest size of the image's aspect ratio that fits the stage ------------
function layout() {
  if (!trial) return;
  const scale = Math.min(stage.clientWidth / trial.image_width, stage.clientHeight / trial.image_height);
  const width = Math.max(1, Math.floor(trial.image_width * scale));
  const height = Math.max(1, Math.floor(trial.image_height * scale));
  const dpr = window.devicePixelRatio || 1;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  draw();
}

// The image pixel (x right, y down, fractional) under a viewport point, null outside.
function toImage(clientX, clientY) {
  const rect = canvas.getBoundingClientRect();
  const x = ((clientX - rect.left) * trial.image_width) / rect.width;
  const y = ((clientY - rect.top) * trial.image_height) / rect.height;
  const inside = x >= 0 && y >= 0 && x < trial.image_width && y < trial.image_height;
  return inside ? { x, y } : null;
}

function ring(x, y, { colour = "#ffd23f", dashed = false } = {}) {
  const cssPerPixel = canvas.clientWidth / trial.image_width;
  const r = trial.bubble_diameter / 2;
  ctx.save();
  ctx.setLineDash(dashed ? [4 / cssPerPixel, 4 / cssPerPixel] : []);
  ctx.beginPath();
  ctx.arc(x, y, r, 0, 2 * Math.PI);
  ctx.lineWidth = 4.5 / cssPerPixel;
  ctx.strokeStyle = "rgba(0, 0, 0, 0.8)";
  ctx.stroke();
  ctx.lineWidth = 2 / cssPerPixel;
  ctx.strokeStyle = colour;
  ctx.stroke();
  ctx.restore();
}

function draw() {
  if (!trial) return;
  // For tests and tools: the clicks answered, those in flight, whether the image is drawn.
  canvas.dataset.clicks = trial.clicks.length;
  canvas.dataset.pending = pending.length;
  canvas.dataset.ready = bitmap && !trial.ended ? "yes" : "no";
  ctx.setTransform(canvas.width / trial.image_width, 0, 0, canvas.height / trial.image_height, 0, 0);
  ctx.fillStyle = "#808080";
  ctx.fillRect(0, 0, trial.image_width, trial.image_height);
  if (bitmap) ctx.drawImage(bitmap, 0, 0, trial.image_width, trial.image_height);
  for (const click of trial.clicks) ring(click.col + 0.5, click.row + 0.5);
  for (const click of pending) ring(click.x, click.y, { colour: "#ffffff", dashed: true });
  if (cursor && document.activeElement === canvas) ring(cursor.x, cursor.y, { colour: "#4fc3ff", dashed: true });
}

// --- status: what the server said; the seconds count down between its answers ----------
function showStatus(answer) {
  $("clicks-left").textContent = answer.clicks_left;
  $("score").textContent = answer.score;
  deadline = performance.now() + 1000 * answer.seconds_left;
  tick();
}

function tick() {
  if (!trial || trial.ended) return;
  const left = Math.max(0, (deadline - performance.now()) / 1000);
  $("time-left").textContent = Math.ceil(left);
  if (left <= 0 && !ending) timeUp();
}

function showGuess(click) {
  const guess = $("guess");
  guess.replaceChildren();
  if (!click) { guess.innerHTML = "&nbsp;"; return; }
  const answer = document.createElement("span");
  answer.textContent = click.model_response;
  if (click.correct) answer.className = "right";
  guess.append("The computer's guess: ", answer, click.correct ? " (right!)" : "");
}

// --- the trial's life: start, clicks, end -----------------------------------------------
async function next() {
  $("panel").hidden = true;
  const answer = await api("/api/trials/next", { method: "POST" });
  if (!answer.trial) { go("/done"); return; }
  trial = answer.trial;
  pending = [];
  ending = false;
  bitmap = null;
  const block = trial.practice ? "Practice" : "Image";
  const prompt = $("prompt");
  prompt.replaceChildren();
  const category = document.createElement("span");
  category.className = "category";
  category.textContent = trial.category;
  prompt.append(`${block} ${trial.number} of ${trial.of}: click what shows the `, category);
  cursor = { x: trial.image_width / 2, y: trial.image_height / 2 };
  showStatus(trial);
  showGuess(trial.clicks[trial.clicks.length - 1]);
  layout();
  const image = await api(trial.image_url, { raw: true });
  bitmap = await createImageBitmap(await image.blob());
  draw();
  if (trial.ended) finish(trial);
  else canvas.focus();
}

function send(point) {
  const sent = trial;
  pending.push(point);
  draw();
  queue = queue.then(async () => {
    if (sent !== trial || trial.ended) return;
    try {
      const answer = await api(`/api/trials/${trial.index}/clicks`, { method: "POST", body: point });
      trial.clicks.push(answer.click);
      Object.assign(trial, {
        clicks_left: answer.clicks_left, seconds_left: answer.seconds_left, ended: answer.ended,
        recognised: answer.recognised, points: answer.points, score: answer.score,
      });
      showStatus(answer);
      showGuess(answer.click);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
      trial = await api(`/api/trials/${trial.index}`);  // it ended on the server
    } finally {
      pending = pending.filter((p) => p !== point);
      draw();
    }
    if (trial.ended) finish(trial);
  }).catch(fail);
}

async function timeUp() {
  ending = true;
  const index = trial.index;
  await queue;
  if (trial.index !== index || trial.ended) return;
  try {
    trial = await api(`/api/trials/${index}/end`, { method: "POST" });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) throw error;
    trial = await api(`/api/trials/${index}`);
  }
  finish(trial);
}

function finish(ended) {
  if (!$("panel").hidden) return;
  trial.ended = true;
  pending = [];
  draw();
  const n = ended.clicks.length;
  let text = ended.recognised
    ? `Recognised after ${n} click${n === 1 ? "" : "s"}: +${ended.points} points.`
    : "Not recognised: 0 points.";
  if (ended.practice) text += " (Practice: points do not count.)";
  const lastOfPractice = ended.practice && ended.number === ended.of;
  if (lastOfPractice) text += " The practice is over: now the real game starts.";
  $("panel-text").textContent = text;
  $("panel-next").textContent = lastOfPractice ? "Start the game" : "Next image";
  $("score").textContent = ended.score;
  $("panel").hidden = false;
  $("panel-next").focus();
}

function fail(error) {
  if (error instanceof ApiError && error.status === 401) { clearToken(); go("/"); return; }
  $("guess").textContent = `Something went wrong (${error.message}); reload the page to continue.`;
}

// --- input: mouse / touch, and the keyboard (arrows move the target, Enter/Space click) -
canvas.addEventListener("click", (event) => {
  if (!trial || trial.ended || !bitmap) return;
  const point = toImage(event.clientX, event.clientY);
  if (point) send(point);
});

canvas.addEventListener("keydown", (event) => {
  if (!trial || trial.ended || !cursor) return;
  const step = Math.max(1, trial.bubble_diameter / 2) * (event.shiftKey ? 3 : 1);
  const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
  if (event.key in moves) {
    const [dx, dy] = moves[event.key];
    cursor.x = Math.min(trial.image_width - 0.5, Math.max(0, cursor.x + dx));
    cursor.y = Math.min(trial.image_height - 0.5, Math.max(0, cursor.y + dy));
    draw();
  } else if (event.key === "Enter" || event.key === " ") {
    if (bitmap) send({ x: cursor.x, y: cursor.y });
  } else {
    return;
  }
  event.preventDefault();
});
canvas.addEventListener("focus", draw);
canvas.addEventListener("blur", draw);

$("panel-next").addEventListener("click", () => next().catch(fail));
new ResizeObserver(layout).observe(stage);
window.addEventListener("resize", layout);
setInterval(tick, 200);

if (!token()) go("/");
else next().catch(fail);
