import { ApiError, api, clearToken, go, setToken, token } from "./common.js";

const message = document.getElementById("message");

function say(text) { message.textContent = text; message.hidden = false; message.focus?.(); }

// A participant who already consented (reload, server restart) continues where they were.
async function resume() {
  if (!token()) return;
  try {
    const state = await api("/api/state");
    go(state.completed ? "/done" : "/play");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) clearToken();
  }
}

document.getElementById("agree").addEventListener("click", async (event) => {
  event.target.disabled = true;
  const params = Object.fromEntries(new URLSearchParams(window.location.search));
  try {
    const joined = await api("/api/participants", { method: "POST", body: { consent: true, params } });
    setToken(joined.token);
    go("/instructions");
  } catch (error) {
    event.target.disabled = false;
    say(`Could not start the study: ${error.message}`);
  }
});

document.getElementById("decline").addEventListener("click", () => {
  say("You have not agreed, so the study will not start. You can close this window.");
});

resume();
