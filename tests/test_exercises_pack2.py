"""Exercises 10-16 (softmax to conv2d) and ``compare``, makemore's ``cmp`` with our names.

Every reference solution is checked three ways beyond the checker's own run: against PyTorch (where installed),
against central finite differences (for the intermediates: each op of the graph on its own, ``check_graph``, and
the parameters' gradients of the whole loss), and its planted mistakes against the checker's first answer (EX's
tests do that for the whole pack; here the answers are also shown in the test's output)."""

import numpy as np
import pytest

import tinygrad_edu.torch as ttorch
from tests.test_makemore_backprop import INTERMEDIATES, PARAMETERS, chopped_forward, exercise_1, init_network
from tinygrad_edu import Value, check_graph, functional
from tinygrad_edu.exercises import grading
from tinygrad_edu.exercises.compare import backward_order, compare, differences_by_name, gradients_by_name, run_lines
from tinygrad_edu.exercises.pack import (
    ex10_softmax,
    ex11_log_softmax,
    ex12_cross_entropy,
    ex13_neuron,
    ex14_mlp,
    ex15_batchnorm,
    ex16_conv2d,
)

MODULES = [ex10_softmax, ex11_log_softmax, ex12_cross_entropy, ex13_neuron, ex14_mlp, ex15_batchnorm, ex16_conv2d]
EXERCISES = [m.EXERCISE for m in MODULES]


def solution(ex):
    """The reference solution's function, loaded as the checker loads a learner's file."""
    return grading.load_source(ex, ex.solution)[ex.functions[0]]


def cases(ex):
    return ex.cases(np.random.default_rng(ex.number))


# ---------------------------------------------------------------- compare on makemore's intermediates


@pytest.fixture(scope="module")
def lecture():
    """makemore part 4's cell 10 (the chopped forward and loss.backward()) on a random minibatch of 32 contexts of
    3 characters (the names themselves do not matter to the gradients), and cell 11's 26 manual gradients."""
    ttorch.manual_seed(0)
    _, parameters, _ = init_network(ttorch, 27, 3, 64)
    Xb = ttorch.tensor(np.random.default_rng(0).integers(0, 27, size=(32, 3)))
    Yb = ttorch.tensor(np.random.default_rng(1).integers(0, 27, size=32))
    loss, steps = chopped_forward(ttorch, parameters, Xb, Yb)
    nodes = dict(steps, **dict(zip(PARAMETERS, parameters)))
    manual = exercise_1(ttorch, ttorch.nn.functional, dict(nodes, n=32, Xb=Xb, Yb=Yb))
    return nodes, manual


def test_compare_on_every_makemore_intermediate_is_exact(lecture, capsys):
    """Cell 11's 26 hand-written gradients compared as the notebook does: each exact, max diff 0, one line each;
    the notebook's dbnmeani has shape (64,) for bnmeani's (1, 64): another shape, so not equal (cmp says False
    too), and the line says the numbers agree once reshaped."""
    nodes, manual = lecture
    for name in INTERMEDIATES + PARAMETERS:
        result = compare(name, manual[name], nodes[name])
        if name != "bnmeani":
            assert (result.exact, result.close, result.max_diff, result.where) == (True, True, 0.0, None), name
    bnmeani = compare("bnmeani", manual["bnmeani"], nodes["bnmeani"], show=False)
    assert (bnmeani.exact, bnmeani.close, bnmeani.where, bnmeani.reshaped_close) == (False, False, None, True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 26
    assert lines[0] == f"{'logprobs':15s} | exact: True  | close: True  | max diff: 0"
    assert lines[INTERMEDIATES.index("bnmeani")] == (
        f"{'bnmeani':15s} | exact: False | close: False | shapes differ: yours (64,), the right one (1, 64): the "
        "numbers agree once reshaped (.reshape(1, 64))"
    )


def test_compare_says_where_a_wrong_gradient_first_differs(lecture):
    """dlogprobs without the mean's 1/n: not close, first wrong at row 0's label, both numbers shown."""
    nodes, manual = lecture
    wrong = np.asarray(manual["logprobs"].numbers) * 32
    result = compare("logprobs", wrong, nodes["logprobs"], show=False)
    label = int(np.flatnonzero(wrong[0])[0])
    assert not result.exact and not result.close and result.where == (0, label)
    assert result.mine_at == -1.0 and result.right_at == -1 / 32
    assert result.max_diff == pytest.approx(1 - 1 / 32)
    assert f"first differs at [0, {label}]: yours -1, right -0.03125" in str(result)
    close = compare("logits", manual["logits"].numbers * (1 + 1e-9), nodes["logits"], show=False)
    assert close.close and not close.exact and 0 < close.max_diff < 1e-9 and close.where is None


def test_compare_of_a_wrong_shape_is_an_answer_not_a_crash(lecture):
    """db2 left unsummed (32, 27) against b2's (27,): shapes differ, and which axis to sum over is said."""
    nodes, manual = lecture
    unsummed = compare("b2", manual["logits"], nodes["b2"], show=False)
    assert not unsummed.shapes_fit and not unsummed.exact and not unsummed.close and np.isnan(unsummed.max_diff)
    assert "shapes differ: yours (32, 27), the right one (27,) (a broadcast input: sum yours over axis 0)" in str(
        unsummed
    )
    flat = compare("W1", manual["W1"].numbers.reshape(-1), nodes["W1"], show=False)  # (1920,) against (30, 64)
    assert not flat.shapes_fit and str(flat).endswith("shapes differ: yours (1920,), the right one (30, 64)")
    stretched = compare("bnbias", np.ones((32, 64)), nodes["bnbias"], show=False)
    assert "sum yours over axis 0, keepdims=True" in str(stretched)
    transposed = compare("W2", manual["W2"].numbers.T, nodes["W2"], show=False)
    assert "shapes differ: yours (27, 64), the right one (64, 27)" in str(transposed)


def test_compare_of_another_shape_is_never_equal():
    """(8,) against (8, 1): makemore's cmp broadcasts them to 8 x 8 and says False; so does compare, naming the
    shapes and the fix, whether the numbers agree once reshaped or not (then where they first differ)."""
    right = np.arange(8.0).reshape(8, 1)
    same = compare("dx", np.arange(8.0), right, show=False)
    assert (same.exact, same.close, same.shapes_fit, same.reshaped_close) == (False, False, True, True)
    assert np.isnan(same.max_diff) and "max diff" not in str(same)
    assert str(same).endswith(
        "exact: False | close: False | shapes differ: yours (8,), the right one (8, 1): the numbers agree once "
        "reshaped (.reshape(8, 1))"
    )
    other = compare("dx", np.arange(8.0) + (np.arange(8) == 3), right, show=False)
    assert not other.close and not other.reshaped_close and other.where == (3, 0)
    assert (
        "the numbers still differ once reshaped (.reshape(8, 1)); first differs at [3, 0] once reshaped: yours 4"
        in str(other)
    )
    assert "#cf222e" in same._repr_html_()  # red: not equal


def test_compare_on_an_intermediate_without_retain_grad_says_to_call_it():
    """A facade tensor (or a PyTorch one) in the middle of the graph keeps no .grad without retain_grad(): said,
    not "all zeros: has backward() run?"."""
    x = ttorch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    with pytest.raises(ValueError, match="call x.retain_grad|call loss.backward"):
        compare("x", [1.0, 1.0], x)  # a leaf before backward: run backward first
    (h * h).sum().backward()
    with pytest.raises(ValueError, match=r"intermediate.*call h.retain_grad\(\) before backward\(\), as in PyTorch"):
        compare("h", [6.0, 12.0], h)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    assert compare("h", [6.0, 12.0], h, show=False).exact
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    u = t * 3
    (u * u).sum().backward()
    with pytest.raises(ValueError, match=r"call u.retain_grad\(\) before backward\(\)"):
        compare("u", [6.0, 12.0], u)


def test_compare_reads_numbers_values_and_pytorch_tensors():
    """The right answer: a Value's .grad, an array, a number; yours: an array, a Value, a list; bad input: words."""
    x = Value(np.array([1.0, 2.0]))
    (x * x).sum().backward()
    assert compare("x", [2.0, 4.0], x, show=False).exact
    assert compare("x", Value(np.array([2.0, 4.0])), np.array([2.0, 4.0]), show=False).exact
    assert compare("s", 3.0, 3.0, show=False).exact
    scalar = compare("s", 3.5, 3.0, show=False)
    assert scalar.where == () and "first differs: yours 3.5, right 3" in str(scalar)
    unrun = compare("y", [1.0, 1.0], Value(np.array([1.0, 2.0])), show=False)  # no backward reached it
    assert "has backward() run?" in str(unrun)
    with pytest.raises(TypeError, match="mine .your gradient. must be numbers"):
        compare("x", "two", x)
    with pytest.raises(TypeError, match="name must be a string"):
        compare(3, [2.0, 4.0], x)
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="call loss.backward"):
        compare("t", [2.0, 4.0], t)
    (t * t).sum().backward()
    assert compare("t", [2.0, 4.0], t, show=False).exact
    assert compare("t", t.grad.float(), t, show=False).close  # float32 against float64: close


def test_compare_shows_html_in_a_notebook(lecture):
    """A notebook shows a one-row table, green when close and red when not."""
    nodes, manual = lecture
    right = compare("h", manual["h"], nodes["h"], show=False)._repr_html_()
    wrong = compare("h", -manual["h"].numbers, nodes["h"], show=False)._repr_html_()
    assert right.startswith("<table") and "#1a7f37" in right and "<td" in right and ">h<" in right
    assert "#cf222e" in wrong and "first differs at [0, 0]" in wrong
    assert "&lt;" not in right and "<script" not in right


def test_consecutive_compares_line_up_in_a_browser(tmp_path):
    """Each compare is a table of its own: under Jupyter's table style (cells right-aligned, padded), the
    columns of consecutive rows start at the same x in a real browser, and no cell but the last wraps."""
    from tests.test_viz import _browser

    x = Value(np.arange(8.0).reshape(8, 1))
    (x * x).sum().backward()
    right = 2 * np.arange(8.0).reshape(8, 1)
    rows = [
        compare("logprobs", right, x, show=False),
        compare("dbnmeani", right.reshape(-1), x, show=False),  # no max diff: another shape
        compare("h", right * 1.0001, x, show=False),
        compare("counts_sum_inv", np.ones((8, 8)), x, show=False),
    ]
    jupyter = "<style>table{border-collapse:collapse} td{text-align:right;padding:0.5em}</style>"
    page = tmp_path / "rows.html"
    page.write_text(jupyter + "".join(f"<div>{r._repr_html_()}</div>" for r in rows))
    browser = _browser()
    try:
        browser.set_window_size(700, 600)  # narrow: only the last column may wrap
        browser.get(page.as_uri())
        cells = browser.execute_script(
            "return [...document.querySelectorAll('table')].map(t => [...t.rows[0].cells].map(c => {"
            "const text = document.createRange(); text.selectNodeContents(c);"  # its lines: one rectangle each
            "return [c.getBoundingClientRect().left, text.getClientRects().length]}))"
        )
    finally:
        browser.quit()
    for column in range(5):
        assert len({round(row[column][0]) for row in cells}) == 1, (column, cells)
    assert all(row[k][1] <= 1 for row in cells for k in range(4)), cells  # "exact: False" on one line
    assert any(row[4][1] > 1 for row in cells)  # the detail wraps, in its own column


def test_compare_in_a_real_kernel_shows_each_line_once(tmp_path):
    """In Jupyter, each compare shows its row as it runs (a cell of several shows them all), and the cell's
    result, the last compare, is not shown a second time; the same object shown in a later cell shows again."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    cells = [
        "import numpy as np\nfrom tinygrad_edu import Value\nfrom tinygrad_edu.exercises.compare import compare\n"
        "x = Value(np.array([1.0, 2.0]), label='x')\n(x * x).sum().backward()",
        "compare('a', [2.0, 4.0], x)\nr = compare('b', [2.0, 5.0], x)\nr",
        "r",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    shown = [[(o.output_type, o.get("data", {}).get("text/html", "")) for o in cell.outputs] for cell in nb.cells]
    assert [kind for kind, _ in shown[1]] == ["display_data", "display_data"]
    assert "#1a7f37" in shown[1][0][1] and "first differs at [1]" in shown[1][1][1]
    assert [kind for kind, _ in shown[2]] == ["display_data"] and "first differs at [1]" in shown[2][0][1]


def test_gradients_by_name_reads_the_backward_pass_in_its_order():
    """The neuron of micrograd's lecture: every node's gradient, in the order the pass reaches them, nothing
    written into .grad; a node off the graph is named."""
    nodes = {k: Value(v, label=k) for k, v in ex13_neuron.LECTURE.items()}
    nodes["n"] = nodes["x1"] * nodes["w1"] + nodes["x2"] * nodes["w2"] + nodes["b"]
    nodes["o"] = nodes["n"].tanh()
    grads = gradients_by_name(nodes["o"], nodes)
    assert list(grads)[:3] == ["o", "n", "b"] and len(grads) == 7
    assert grads["o"] == 1.0 and grads["n"] == pytest.approx(0.5) and grads["x1"] == pytest.approx(-1.5)
    assert grads["w1"] == pytest.approx(1.0) and grads["w2"] == 0.0 and grads["x2"] == pytest.approx(0.5)
    assert nodes["x1"].grad == 0.0  # read from the pass, not left in .grad
    with pytest.raises(ValueError, match="stray not on the graph"):
        gradients_by_name(nodes["o"], dict(nodes, stray=Value(1.0)))


# ---------------------------------------------------------------- exercises 10-16


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda ex: ex.slug)
def test_the_reference_solution_is_right_and_the_stub_is_todo(ex):
    """The checker's verdict on the solution: right on every case; on the stub: not done yet (no answer in it)."""
    tries = grading.Tries(None)
    assert grading.check_source(ex, ex.solution, tries=tries).status == "right"
    stub = grading.check_source(ex, ex.stub, tries=tries)
    assert stub.status == "todo" and "NotImplementedError" in stub.text
    assert ex.file().startswith('r"""Exercise') and "TODO" in ex.file()


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda ex: ex.slug)
def test_every_planted_mistake_gets_its_hint_first(ex, capsys):
    """Each planted mistake: wrong, and the checker's first answer holds the mistake's hint (printed: the list
    of mistakes and answers for the issue's closing note)."""
    for mistake in ex.mistakes:
        verdict = grading.check_source(ex, mistake.source, tries=grading.Tries(None))
        print(f"{ex.number} {ex.slug} | {mistake.what} | {verdict.text}\n")
        assert verdict.status in ("wrong", "error") and mistake.hint in verdict.text, mistake.what


def test_the_answers_are_the_engines_ops():
    """Softmax's and log-softmax's answers are their ops' own backwards; the others are the engine's graphs
    (cross-entropy's as makemore chops it, before the fused op): the same numbers as the fused op."""
    ex = ex12_cross_entropy.EXERCISE
    for logits, labels in cases(ex):
        fused = Value(logits)
        functional.cross_entropy(fused, labels).backward()
        np.testing.assert_allclose(ex.expected(logits, labels), fused.grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("ex", [m.EXERCISE for m in (ex10_softmax, ex11_log_softmax, ex15_batchnorm, ex16_conv2d)])
def test_solutions_equal_finite_differences(ex):
    """The reference solution against central finite differences (the exercise's ``numeric``) on every case."""
    fn = solution(ex)
    for case in cases(ex):
        mine, numeric = fn(*case), ex.numeric(*case)
        for m, n in zip(mine if ex.outputs else [mine], numeric if ex.outputs else [numeric]):
            np.testing.assert_allclose(m, n, rtol=1e-5, atol=1e-7)
    assert ex12_cross_entropy.EXERCISE.numeric is not None


def test_cross_entropy_solution_equals_finite_differences():
    ex = ex12_cross_entropy.EXERCISE
    for logits, labels in cases(ex):
        np.testing.assert_allclose(solution(ex)(logits, labels), ex.numeric(logits, labels), rtol=1e-5, atol=1e-8)


def test_intermediates_equal_finite_differences():
    """Exercises 13 and 14: every intermediate of the reference solutions against central differences (each node
    nudged in turn, the forward's lines run again), and every op of their graphs on its own (check_graph)."""
    for ex in (ex13_neuron.EXERCISE, ex14_mlp.EXERCISE):
        for case in cases(ex):
            mine, numeric = solution(ex)(*case), ex.numeric(*case)
            assert sorted(mine) == sorted(numeric)
            for name, value in numeric.items():
                np.testing.assert_allclose(mine[name], value, rtol=1e-6, atol=1e-8, err_msg=name)
    g, *args = cases(ex13_neuron.EXERCISE)[0]
    assert not check_graph((ex13_neuron.graph(*(Value(x) for x in args))["o"] * g).sum()).failures
    assert not check_graph(ex14_mlp.graph(*cases(ex14_mlp.EXERCISE)[0])["loss"]).failures


def test_differences_by_name_nudge_each_line_of_a_forward():
    """run_lines runs a forward one assignment a line, nudging the named variables as they are made; the
    derivatives by those nudges are the gradients the engine's backward pass leaves (the lecture's neuron)."""
    nodes = ex13_neuron.graph(*(Value(v, label=k) for k, v in ex13_neuron.LECTURE.items()))
    assert nodes["o"].data == pytest.approx(0.7071067811865476)
    nudged = run_lines(ex13_neuron.FORWARD, ex13_neuron.LECTURE, {"tanh": np.tanh}, {"n": 1e-3, "x1": 0.5})
    assert nudged["n"] == pytest.approx(0.8813735870195432 + 1e-3 - 1.5) and nudged["x1w1"] == -7.5
    shapes = {name: () for name in backward_order(nodes["o"], nodes)}
    lecture = ex13_neuron.LECTURE.values()
    found = differences_by_name(lambda nudges: ex13_neuron.graph(*lecture, tanh=np.tanh, nudges=nudges)["o"], shapes)
    assert list(found) == list(gradients_by_name(nodes["o"], nodes))
    for name, value in gradients_by_name(nodes["o"], nodes).items():
        assert found[name] == pytest.approx(value, abs=1e-8), name


# ---------------------------------------------------------------- the same numbers on PyTorch


def _t(torch, x, grad=True):
    return torch.tensor(np.asarray(x), dtype=torch.float64, requires_grad=grad)


def test_softmax_log_softmax_and_cross_entropy_equal_pytorchs():
    torch = pytest.importorskip("torch")
    for ex, f in ((ex10_softmax.EXERCISE, torch.softmax), (ex11_log_softmax.EXERCISE, torch.log_softmax)):
        for g, out, x in cases(ex):
            t = _t(torch, x)
            f(t, -1).backward(torch.tensor(g))
            np.testing.assert_allclose(solution(ex)(g, out, x), t.grad.numpy(), rtol=1e-10, atol=1e-14)
    ex = ex12_cross_entropy.EXERCISE
    for logits, labels in cases(ex):
        t = _t(torch, logits)
        torch.nn.functional.cross_entropy(t, torch.tensor(labels)).backward()
        np.testing.assert_allclose(solution(ex)(logits, labels), t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_neuron_and_mlp_intermediates_equal_pytorchs():
    """Every intermediate of exercises 13 and 14 by PyTorch's retain_grad(), against the reference solutions."""
    torch = pytest.importorskip("torch")
    ex = ex13_neuron.EXERCISE
    for g, *args in cases(ex):
        nodes = ex13_neuron.graph(*(_t(torch, x) for x in args), tanh=torch.tanh)
        for v in nodes.values():
            v.retain_grad()
        nodes["o"].backward(torch.tensor(g))
        mine = solution(ex)(g, *args)
        assert sorted(mine) == sorted(f"d{k}" for k in nodes)
        for k, v in nodes.items():
            np.testing.assert_allclose(mine[f"d{k}"], v.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=k)

    ex = ex14_mlp.EXERCISE
    for X, Y, W1, b1, W2, b2 in cases(ex):
        n = X.shape[0]
        W1t, b1t, W2t, b2t = (_t(torch, p) for p in (W1, b1, W2, b2))
        hpreact = _t(torch, X, grad=False) @ W1t + b1t
        h = torch.tanh(hpreact)
        logits = h @ W2t + b2t
        logit_maxes = logits.max(1, keepdim=True).values
        norm_logits = logits - logit_maxes
        counts = norm_logits.exp()
        counts_sum = counts.sum(1, keepdim=True)
        counts_sum_inv = counts_sum**-1
        probs = counts * counts_sum_inv
        logprobs = probs.log()
        theirs = dict(logprobs=logprobs, probs=probs, counts_sum_inv=counts_sum_inv, counts_sum=counts_sum,
                      counts=counts, norm_logits=norm_logits, logit_maxes=logit_maxes, logits=logits, h=h,
                      hpreact=hpreact, W1=W1t, b1=b1t, W2=W2t, b2=b2t)  # fmt: skip
        for v in theirs.values():
            v.retain_grad()
        (-logprobs[torch.arange(n), torch.tensor(Y)].mean()).backward()
        mine = solution(ex)(X, Y, W1, b1, W2, b2)
        assert sorted(mine) == sorted(f"d{k}" for k in theirs) == sorted(ex.expected(X, Y, W1, b1, W2, b2))
        for k, v in theirs.items():
            np.testing.assert_allclose(mine[f"d{k}"], v.grad.numpy(), rtol=1e-9, atol=1e-14, err_msg=k)


def test_batchnorm_and_conv2d_equal_pytorchs():
    torch = pytest.importorskip("torch")
    ex = ex15_batchnorm.EXERCISE
    for g, x, gamma in cases(ex):
        xt, gt, bt = _t(torch, x), _t(torch, gamma), _t(torch, np.zeros_like(gamma))
        torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True).backward(torch.tensor(g))
        for mine, theirs in zip(solution(ex)(g, x, gamma), (xt.grad, gt.grad, bt.grad)):
            np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-9, atol=1e-12)
    ex = ex16_conv2d.EXERCISE
    assert {case[3] for case in cases(ex)} == {1, 2, 3}
    for g, x, w, stride in cases(ex):
        xt, wt = _t(torch, x), _t(torch, w)
        torch.nn.functional.conv2d(xt, wt, stride=stride).backward(torch.tensor(g))
        for mine, theirs in zip(solution(ex)(g, x, w, stride), (xt.grad, wt.grad)):
            np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-10, atol=1e-12)
