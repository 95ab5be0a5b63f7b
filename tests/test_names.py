"""One name per node in every view: the picture, print_graph, the trace table and the stepper's captions all
call a node what ``names.node_names`` calls it (its label, else n1, n2, ... numbered inputs first)."""

import json
import re

from tinygrad_edu import Value, trace_backward, viz
from tinygrad_edu.names import node_names
from tinygrad_edu.tables import summary


def _graph() -> Value:
    """Unnamed nodes everywhere (the root too), a reused node, an unnamed parameter and constant;
    every node holds different numbers, so its data tells it apart in every view."""
    a = Value(0.5, label="a")
    b = Value(-0.7)  # an unnamed parameter
    d = a * b + 0.25  # 0.25: an unnamed constant
    out = d * d + a  # d and a used twice
    out.backward()
    return out


def test_every_view_gives_each_node_the_same_name():
    out = _graph()
    names = node_names(out)
    assert sorted(names.values()) == ["a", "n1", "n2", "n3", "n4", "n5", "n6"]
    expected = {names[node]: summary(node.data) for node in names}  # name -> the numbers that node holds
    assert len(set(expected.values())) == len(expected)

    source = viz.draw_graph(out).source
    boxes = re.findall(r"^\s*(v\d+) \[label=<(.*)> shape", source, re.M)
    drawn, ids = {}, {}
    for node_id, label in boxes:  # an unnamed node's name is small type; a label is bold
        name = re.search(r'POINT-SIZE="\d+">([^<]+)<', label) or re.search(r"<B>([^<]+)</B>", label)
        drawn[name[1]] = re.search(r"data ([^<]+)<", label)[1]
        ids[node_id] = name[1]
    assert drawn == expected

    printed = dict(re.findall(r"(\w+) = \w+(?:\([\w, ]*\))?  data (\S+)", viz.format_graph(out)))
    assert printed == expected

    trace = trace_backward(out)
    table = str(trace).splitlines()[2:]
    assert len(table) == len(trace.rows)
    for line, row in zip(table, trace.rows):
        cells = line.split()
        assert (cells[1], cells[4]) == (names[row.node], names[row.input])

    page = viz.backward_page(out)
    steps = json.loads(page.split("const steps = ", 1)[1].split(";\n", 1)[0])
    root = names[out]
    assert steps[0]["lines"][0].startswith(f"d{root}/d{root} = 1")
    for step in steps:  # the caption names the node the step outlines in the picture
        assert step["lines"][0].startswith(f"d{root}/d{ids[step['node']]} = "), (step, ids[step["node"]])
        for line in step["lines"][1:]:
            user = re.match(r"from (\S+) \(", line)
            assert user is None or user[1] in expected
    frames = viz.backward_frames(out)
    assert all(f"d{root}/d{ids[s['node']]} = " in f.source for s, f in zip(steps, frames))


def test_an_unnamed_box_shows_its_name_small_and_still_says_what_a_leaf_is():
    out = _graph()
    source = viz.draw_graph(out).source
    assert re.search(r'BGCOLOR="#fff2b3"><B>param</B> <FONT POINT-SIZE="8">n1</FONT>', source)
    assert re.search(r'BGCOLOR="#e6e6e6"><B>const</B> <FONT POINT-SIZE="8">n\d</FONT>', source)
    assert "#1" not in viz.format_graph(out) and "#1" not in str(trace_backward(out))  # the old numbering is gone


def test_names_are_unique_even_when_labels_collide_with_numbers_or_each_other():
    """A label ``n1`` and an unnamed node numbered 1, or two nodes labelled ``w``, would show two nodes under one
    name: the number skips what labels use, and the second ``w`` is ``w_2``."""
    from tinygrad_edu import Value
    from tinygrad_edu.names import node_names

    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    h = a * b  # unnamed
    k = h + a
    k.label = "n1"
    w1, w2 = Value(1.0, label="w"), Value(2.0, label="w")
    out = k * w1 + w2
    names = node_names(out)
    assert len(set(names.values())) == len(names)
    assert names[k] == "n1" and names[h] != "n1"
    assert {names[w1], names[w2]} == {"w", "w_2"}
