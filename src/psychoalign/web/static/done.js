import { api, go, token } from "./common.js";

const DELAY_S = 5;

async function show() {
  if (!token()) { go("/"); return; }
  const state = await api("/api/state");
  if (!state.completed) { go("/play"); return; }
  document.getElementById("code").textContent = state.completion_code;
  document.getElementById("summary").textContent = `You have finished the study. Your score: ${state.score}.`;
  document.getElementById("copy").addEventListener("click", () => navigator.clipboard?.writeText(state.completion_code));
  if (state.redirect_url) {
    const link = document.getElementById("redirect-link");
    link.href = state.redirect_url;
    document.getElementById("redirect").hidden = false;
    let left = DELAY_S;
    const tick = setInterval(() => {
      left -= 1;
      document.getElementById("countdown").textContent = String(Math.max(0, left));
      if (left <= 0) { clearInterval(tick); window.location.assign(state.redirect_url); }
    }, 1000);
  }
}

show();
