// The steps of a pass on a graph drawn once: the forward pass, one value per step, then the backward pass, one
// gradient per step; or forward mode, one value and its tangent per step (stepper.py writes the page). The page
// defines, before this script:
//   forward: the forward phase (empty when left out): {node: the DOT id of the value it computes (the first step
//            shows the leaves: null, or the leaf forward mode moves), lines: its formula with the numbers, edges:
//            the DOT ids of the edges it reads,
//            phase: "forward" (it fills the value) or "tangent" (the value and the tangent, in the box's 2nd cell)}
//   steps: the backward phase: {node: the DOT id of the node it fills, lines: the chain rule with its numbers,
//          edges: the DOT ids of the edges its gradient came back along, phase: "backward"}
//   phases: what the badge says in each phase ("backward": "backward pass");
//   colours: {highlight, edge}: the style's colours for the step's node and edges, and for the other edges.
// A cell no step fills (a leaf's value, a leaf's tangent) is known from the first step.
const all = forward.concat(steps);
const slider = document.getElementById("slider"), formula = document.getElementById("formula");
const view = document.getElementById("graph"), svg = view.querySelector("svg");
const groups = {}, edges = {};
document.querySelectorAll("#graph g.node").forEach(g => {
  const title = g.querySelector("title").textContent, cell = {group: g};
  let fill = null;  // a cell's background comes just before its text
  g.querySelectorAll("polygon, text").forEach(el => {
    if (el.tagName === "text") {
      const text = el.textContent;
      if (text.startsWith("grad ") || text.startsWith("tangent "))  // the box's 2nd cell: its gradient or tangent
        cell.grad = {text: el, value: text, fill, colour: fill && fill.getAttribute("fill")};
      else if (text.startsWith("data ")) cell.data = {text: el, value: text};
      fill = null;
    } else if (el.getAttribute("stroke") === "none") { fill = el; }
    else { cell.outline = cell.outline || el; }
  });
  groups[title] = cell;
});
document.querySelectorAll("#graph g.edge").forEach(g => {
  edges[g.querySelector("title").textContent] = g.querySelectorAll("path, polygon");
});
const computedAt = {}, filledAt = {};  // the step that computes a node's value, and the one that fills its 2nd cell
all.forEach((s, i) => {
  if (s.node === null) return;
  if (s.phase !== "backward") computedAt[s.node] = i;
  if (s.phase !== "forward") filledAt[s.node] = i;
});
let timer = null;

// The camera: the point of the graph at the view's centre (in the SVG's units) and the zoom (screen px per unit).
const box = svg.viewBox.baseVal, whole = {x: box.x, y: box.y, w: box.width, h: box.height};
svg.removeAttribute("width"); svg.removeAttribute("height");
const fonts = [...view.querySelectorAll("g.node text")].map(t => parseFloat(t.getAttribute("font-size")) || 14);
const readable = 14 / Math.min(14, ...fonts);  // the zoom at which the smallest text in a box is 14 px on screen
let cam = {x: whole.x + whole.w / 2, y: whole.y + whole.h / 2, s: 1}, fitted = false;

// Draw the camera's view; the graph's edge stays at the view's edge (no empty half screen), a small graph centred.
function place() {
  const w = view.clientWidth / cam.s, h = view.clientHeight / cam.s;
  const clamp = (c, start, length, seen) =>
    seen >= length ? start + length / 2 : Math.max(start + seen / 2, Math.min(start + length - seen / 2, c));
  cam.x = clamp(cam.x, whole.x, whole.w, w);
  cam.y = clamp(cam.y, whole.y, whole.h, h);
  svg.setAttribute("viewBox", [cam.x - w / 2, cam.y - h / 2, w, h].join(" "));
}
function fitScale() { return Math.min(view.clientWidth / whole.w, view.clientHeight / whole.h); }
// The whole graph in view (its text may then be too small to read from the back of a room).
function fit() { cam = {x: whole.x + whole.w / 2, y: whole.y + whole.h / 2, s: fitScale()}; fitted = true; place(); }
// Zoom by factor f, keeping the graph's point under (px, py) (the view's centre by default) where it is.
function zoom(f, px = view.clientWidth / 2, py = view.clientHeight / 2) {
  const s = Math.max(Math.min(fitScale(), readable) / 2, Math.min(4 * readable, cam.s * f));
  const dx = px - view.clientWidth / 2, dy = py - view.clientHeight / 2;
  cam = {x: cam.x + dx / cam.s - dx / s, y: cam.y + dy / cam.s - dy / s, s}; fitted = false; place();
}
// Move the graph by (dx, dy) screen pixels.
function pan(dx, dy) { cam.x -= dx / cam.s; cam.y -= dy / cam.s; fitted = false; place(); }
// Bring the node into view, centred, unless it is already well inside.
function follow(id) {
  const cell = groups[id];
  if (!cell) return;
  const r = cell.group.getBoundingClientRect(), v = view.getBoundingClientRect(), m = 20;
  const left = v.left + view.clientLeft, top = v.top + view.clientTop;
  if (r.left >= left + m && r.right <= left + view.clientWidth - m && r.top >= top + m &&
      r.bottom <= top + view.clientHeight - m) return;
  pan(left + view.clientWidth / 2 - (r.left + r.right) / 2, top + view.clientHeight / 2 - (r.top + r.bottom) / 2);
}
// The step's node in view; the first step (the leaves, no node yet) starts where reading starts: the top left.
function focus() {
  const id = all[+slider.value - 1].node;
  if (id) follow(id); else { cam.x = whole.x; cam.y = whole.y; place(); }
}
// The readable zoom (or the whole graph, when it fits at that zoom or larger), the step's node in view.
function read() {
  if (fitScale() >= readable) { fit(); cam.s = Math.min(cam.s, 2 * readable); place(); return; }
  cam.s = readable; fitted = false; place(); focus();
}

// Show step k (1 to all.length): the values and gradients known so far, the k-th node outlined, its edges lit.
function show(k) {
  k = Math.max(1, Math.min(all.length, k));
  slider.value = k;
  const step = all[k - 1];
  for (const [id, cell] of Object.entries(groups)) {
    if (cell.data) cell.data.text.textContent = id in computedAt && computedAt[id] >= k ? "data ?" : cell.data.value;
    if (cell.grad) {
      const filled = !(id in filledAt) || filledAt[id] < k;
      cell.grad.text.textContent = filled ? cell.grad.value : cell.grad.value.split(" ")[0] + " ?";
      if (cell.grad.fill) cell.grad.fill.setAttribute("fill", filled ? cell.grad.colour : "#ffffff");
    }
    if (cell.outline) { cell.outline.setAttribute("stroke", id === step.node ? colours.highlight : "black");
                        cell.outline.setAttribute("stroke-width", id === step.node ? "4" : "1"); }
  }
  for (const [name, parts] of Object.entries(edges)) {
    const on = step.edges.includes(name);
    parts.forEach(p => { p.setAttribute("stroke", on ? colours.highlight : colours.edge);
                         p.setAttribute("stroke-width", on ? "3" : "1");
                         if (p.tagName === "polygon") p.setAttribute("fill", on ? colours.highlight : colours.edge); });
  }
  formula.innerHTML = "";
  formula.className = step.phase;
  step.lines.forEach(line => { const d = document.createElement("div"); d.textContent = line;
                               formula.appendChild(d); });
  const phase = document.getElementById("phase");
  phase.textContent = phases[step.phase];
  phase.className = step.phase;
  document.getElementById("counter").textContent = "step " + k + " of " + all.length;
  place();  // the caption's height may have changed the view's
  focus();
}

function play() {
  const button = document.getElementById("play");
  if (timer) { clearInterval(timer); timer = null; button.innerHTML = "&#x25B6; Play"; return; }
  if (+slider.value >= all.length) show(1);
  button.innerHTML = "&#x2016; Pause";
  timer = setInterval(() => { if (+slider.value >= all.length) play(); else show(+slider.value + 1); }, 1200);
}

document.getElementById("home").onclick = () => show(1);
document.getElementById("prev").onclick = () => show(+slider.value - 1);
document.getElementById("next").onclick = () => show(+slider.value + 1);
document.getElementById("end").onclick = () => show(all.length);
document.getElementById("play").onclick = play;
document.getElementById("zoom-in").onclick = () => zoom(1.25);
document.getElementById("zoom-out").onclick = () => zoom(0.8);
document.getElementById("fit").onclick = fit;
document.getElementById("read").onclick = read;
slider.oninput = () => show(+slider.value);
let drag = null;
view.onpointerdown = (e) => { drag = [e.clientX, e.clientY]; view.setPointerCapture(e.pointerId); };
view.onpointermove = (e) => { if (drag) { pan(e.clientX - drag[0], e.clientY - drag[1]); drag = [e.clientX, e.clientY]; } };
view.onpointerup = () => { drag = null; };
view.ondblclick = (e) => {  // read here: the readable zoom at the point clicked (from the whole graph, say)
  const v = view.getBoundingClientRect();
  zoom(readable / cam.s, e.clientX - v.left, e.clientY - v.top);
};
view.addEventListener("wheel", (e) => {
  e.preventDefault();
  const v = view.getBoundingClientRect();
  zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - v.left, e.clientY - v.top);
}, {passive: false});
const shifts = {ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1]};
const keys = {
  ArrowRight: () => show(+slider.value + 1), ArrowLeft: () => show(+slider.value - 1),
  Home: () => show(1), End: () => show(all.length), " ": play,
  "+": () => zoom(1.25), "=": () => zoom(1.25), "-": () => zoom(0.8), f: fit, r: read,
};
document.onkeydown = (e) => {
  if (e.shiftKey && e.key in shifts) pan(shifts[e.key][0] * view.clientWidth / 4, shifts[e.key][1] * view.clientHeight / 4);
  else if (e.key in keys && !e.ctrlKey && !e.metaKey && !e.altKey) keys[e.key]();
  else return;
  e.preventDefault();  // the slider and the buttons must not take the key a second time
};
new ResizeObserver(() => (fitted ? fit() : place())).observe(view);
show(1);
read();
