import { go, token } from "./common.js";

if (!token()) go("/");
const start = document.getElementById("start");
start.addEventListener("click", () => go("/play"));
start.focus();
