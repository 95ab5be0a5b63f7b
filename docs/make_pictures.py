"""Make the example pictures shown in README.md: python docs/make_pictures.py

Each is a preset of `tinygrad-edu render`, drawn as PNG (and the neuron's backward pass as HTML).
"""

from pathlib import Path

from tinygrad_edu import viz
from tinygrad_edu.examples import NEURON_INPUTS, PRESETS

HERE = Path(__file__).parent

for name, make in PRESETS.items():
    root = make(0)
    print("wrote", viz.render_graph(root, HERE / f"{name}.png", inputs=NEURON_INPUTS))
print("wrote", viz.render_backward(PRESETS["neuron"](0), HERE / "neuron_backward.html", inputs=NEURON_INPUTS))
