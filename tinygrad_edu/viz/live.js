// A training run replayed, one frame every few steps (live.py writes the page).
// The page defines, before this script:
//   frames: one HTML fragment per frame (the network, the decision map, the loss curve, an example's graph);
//   steps: the training step each frame was drawn after (0: before training).
const slider = document.getElementById("slider"), view = document.getElementById("view");
let timer = null;

// Show frame k (1 to frames.length).
function show(k) {
  k = Math.max(1, Math.min(frames.length, k));
  slider.value = k;
  view.innerHTML = frames[k - 1];
  document.getElementById("counter").textContent =
    "frame " + k + " of " + frames.length + ", step " + steps[k - 1] + " of " + steps[steps.length - 1];
}

function play() {
  const button = document.getElementById("play");
  if (timer) { clearInterval(timer); timer = null; button.innerHTML = "&#x25B6; Play"; return; }
  if (+slider.value >= frames.length) show(1);
  button.innerHTML = "&#x2016; Pause";
  timer = setInterval(() => { if (+slider.value >= frames.length) play(); else show(+slider.value + 1); }, 250);
}

document.getElementById("home").onclick = () => show(1);
document.getElementById("prev").onclick = () => show(+slider.value - 1);
document.getElementById("next").onclick = () => show(+slider.value + 1);
document.getElementById("end").onclick = () => show(frames.length);
document.getElementById("play").onclick = play;
slider.oninput = () => show(+slider.value);
document.onkeydown = (e) => {  // the keys move through the frames, not the page
  const keys = {ArrowRight: () => show(+slider.value + 1), ArrowLeft: () => show(+slider.value - 1),
                Home: () => show(1), End: () => show(frames.length), " ": play};
  if (e.key in keys) { e.preventDefault(); keys[e.key](); }
};
show(1);
