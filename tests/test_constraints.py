"""Tests of the structural constraints and build_structure."""

from __future__ import annotations

import numpy as np
import pytest

from psychcore._constraints import (
    CONSTRAINTS,
    CellTypeRule,
    ConnectivityMask,
    Constraint,
    Dale,
    FixedWeights,
    InhibitorySubtype,
    NoAutapses,
    SparseConnectivity,
    Structure,
    apply_constraints,
    constraint_from_dict,
    register_constraint,
)
from psychcore._init import build_structure, spec_constraints
from psychcore._spec import ModelSpec


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_structure_defaults():
    s = Structure(N_in=3, N_rec=5, N_out=2)
    np.testing.assert_array_equal(s.input_connectivity, np.ones((5, 3)))
    np.testing.assert_array_equal(s.rec_connectivity, np.ones((5, 5)))
    np.testing.assert_array_equal(s.output_connectivity, np.ones((2, 5)))
    assert s.dale_signs is None and s.dale_ratio is None
    assert {k: v.shape for k, v in s.fixed.items()} == {"W_in": (5, 3), "W_rec": (5, 5),
                                                        "W_out": (2, 5)}
    assert not any(v.any() for v in s.fixed.values())
    assert list(s.cell_types) == ["unit"] * 5
    assert not s.excitatory.any() and not s.inhibitory.any()
    with pytest.raises(ValueError, match=r"Structure: N_rec must be a positive int; received 0"):
        Structure(N_in=3, N_rec=0, N_out=2)


def test_weights_entries_without_dale():
    e = Structure(N_in=3, N_rec=5, N_out=2).to_weights_entries()
    np.testing.assert_array_equal(e["Dale_rec"], np.eye(5))
    np.testing.assert_array_equal(e["Dale_out"], np.eye(5))
    assert e["dale_ratio"].shape == () and np.isnan(e["dale_ratio"])
    for key in ("W_in_fixed", "W_rec_fixed", "W_out_fixed"):
        assert not e[key].any()
    assert all(v.dtype == np.float64 for v in e.values())
    assert e["W_in_fixed"].shape == (5, 3)


@pytest.mark.parametrize(("arch", "G"), [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_weights_entries_tile_fixed_masks_over_gate_blocks(arch, G):
    fixed_in = rng(1).random((6, 2)) > 0.5
    fixed_rec = rng(2).random((6, 6)) > 0.5
    s = apply_constraints([FixedWeights(W_in=fixed_in, W_rec=fixed_rec, W_out=True)], 2, 6, 3)
    e = s.to_weights_entries(arch, dtype=np.float32)
    assert e["W_in_fixed"].shape == (G * 6, 2) and e["W_rec_fixed"].shape == (G * 6, 6)
    np.testing.assert_array_equal(e["W_in_fixed"], np.tile(fixed_in, (G, 1)).astype(float))
    np.testing.assert_array_equal(e["W_rec_fixed"], np.tile(fixed_rec, (G, 1)).astype(float))
    np.testing.assert_array_equal(e["W_out_fixed"], np.ones((3, 6)))
    assert e["input_connectivity"].shape == (6, 2)  # masks are not tiled
    assert e["W_in_fixed"].dtype == np.float32
    with pytest.raises(ValueError, match=r"architecture must be one of .*received 'cnn'"):
        s.to_weights_entries("cnn")


@pytest.mark.parametrize(("ratio", "N"), [(0.8, 50), (0.75, 12), (0.5, 7), (0.33, 10), (1.0, 4)])
def test_dale_counts_and_dale_out(ratio, N):
    s = apply_constraints([Dale(ratio)], 2, N, 3)
    e = s.to_weights_entries()
    diag = np.diag(e["Dale_rec"])
    n_exc = round(ratio * N)
    assert np.sum(diag == 1) == n_exc and np.sum(diag == -1) == N - n_exc
    np.testing.assert_array_equal(diag[:n_exc], 1)  # first units excitatory, as PsychRNN
    np.testing.assert_array_equal(e["Dale_rec"], np.diag(diag))
    np.testing.assert_array_equal(np.diag(e["Dale_out"]), (diag > 0).astype(float))
    assert np.all(np.diag(e["Dale_out"])[diag < 0] == 0)  # inhibitory units never reach output
    assert float(e["dale_ratio"]) == ratio
    assert list(s.cell_types) == ["E"] * n_exc + ["I"] * (N - n_exc)
    np.testing.assert_array_equal(s.excitatory, diag > 0)


def test_dale_errors():
    with pytest.raises(ValueError, match=r"Dale: ratio must be a finite number > 0"):
        Dale(0)
    with pytest.raises(TypeError, match=r"Dale: ratio must be .*received 'a' \(str\)"):
        Dale("a")
    with pytest.raises(ValueError, match=r"round\(0.1 \* 4\) = 0 excitatory units"):
        apply_constraints([Dale(0.1)], 1, 4, 1)
    with pytest.raises(ValueError, match=r"already applied"):
        apply_constraints([Dale(0.5), Dale(0.5)], 1, 4, 1)
    with pytest.raises(ValueError, match=r"round\(0.1 \* 4\) = 0"):
        ModelSpec(N_rec=4, constraints=(Dale(0.1),))


def test_no_autapses_zero_diagonal():
    s = apply_constraints([NoAutapses()], 2, 6, 1)
    np.testing.assert_array_equal(np.diag(s.rec_connectivity), np.zeros(6))
    np.testing.assert_array_equal(s.rec_connectivity, 1 - np.eye(6))


def test_connectivity_mask_multiplies_and_checks_shapes():
    a = (rng(0).random((5, 5)) > 0.5).astype(float)
    b = (rng(1).random((5, 5)) > 0.5).astype(float)
    out_mask = np.array([[1, 0, 1, 0, 1]])
    s = apply_constraints([ConnectivityMask(rec=a), ConnectivityMask(rec=b, output=out_mask)],
                          2, 5, 1)
    np.testing.assert_array_equal(s.rec_connectivity, a * b)
    np.testing.assert_array_equal(s.output_connectivity, out_mask)
    np.testing.assert_array_equal(s.input_connectivity, np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"ConnectivityMask: input must have shape \(5, 2\); "
                                         r"received shape \(5, 3\)"):
        apply_constraints([ConnectivityMask(input=np.ones((5, 3)))], 2, 5, 1)
    with pytest.raises(ValueError, match=r"ConnectivityMask: rec must contain only 0 and 1"):
        ConnectivityMask(rec=np.full((2, 2), 0.5))
    with pytest.raises(TypeError, match=r"ConnectivityMask: output must be a 2-D numeric array"):
        ConnectivityMask(output="abc")


def test_sparse_connectivity_fraction_and_reproducibility():
    c = SparseConnectivity(p_rec=0.3, p_in=0.5)
    s1 = apply_constraints([c], 100, 200, 2, rng(7))
    s2 = apply_constraints([c], 100, 200, 2, rng(7))
    s3 = apply_constraints([c], 100, 200, 2, rng(8))
    assert abs(s1.rec_connectivity.mean() - 0.3) < 0.01
    assert abs(s1.input_connectivity.mean() - 0.5) < 0.02
    np.testing.assert_array_equal(s1.output_connectivity, np.ones((2, 200)))
    np.testing.assert_array_equal(s1.rec_connectivity, s2.rec_connectivity)
    np.testing.assert_array_equal(s1.input_connectivity, s2.input_connectivity)
    assert not np.array_equal(s1.rec_connectivity, s3.rec_connectivity)
    assert set(np.unique(s1.rec_connectivity)) == {0.0, 1.0}


def test_sparse_connectivity_bad_probabilities():
    with pytest.raises(ValueError, match=r"SparseConnectivity: p_rec must be a finite number "
                                         r"> 0 and <= 1; received 0.0"):
        SparseConnectivity(0.0)
    with pytest.raises(ValueError, match=r"p_out .* received 1.5"):
        SparseConnectivity(0.5, p_out=1.5)
    with pytest.raises(TypeError, match=r"p_in must be .*received None"):
        SparseConnectivity(0.5, p_in=None)


def _som_structure(random: bool = False, seed: int = 0) -> Structure:
    return apply_constraints(
        [Dale(0.6), InhibitorySubtype("som", count=2, random=random), CellTypeRule("som", "som")],
        1, 10, 1, rng(seed),
    )


def test_inhibitory_subtype_relabels_inhibitory_units():
    s = _som_structure()
    assert list(s.cell_types) == ["E"] * 6 + ["som", "som", "I", "I"]
    s = apply_constraints([Dale(0.6), InhibitorySubtype("pv", fraction=0.5),
                           InhibitorySubtype("som", fraction=0.5)], 1, 10, 1)
    assert list(s.cell_types) == ["E"] * 6 + ["pv", "pv", "som", "som"]
    a = _som_structure(random=True, seed=3).cell_types
    b = _som_structure(random=True, seed=3).cell_types
    assert list(a) == list(b)
    assert sum(t == "som" for t in a) == 2
    assert all(t in ("I", "som") for t in a[6:]) and all(t == "E" for t in a[:6])
    # the Dale signs stay inhibitory
    np.testing.assert_array_equal(_som_structure().dale_signs, [1] * 6 + [-1] * 4)


def test_inhibitory_subtype_errors():
    with pytest.raises(ValueError, match=r"requires Dale's principle"):
        apply_constraints([InhibitorySubtype("som", count=1)], 1, 10, 1)
    with pytest.raises(ValueError, match=r"needs 5 inhibitory units .* only 4 are left"):
        apply_constraints([Dale(0.6), InhibitorySubtype("som", count=5)], 1, 10, 1)
    with pytest.raises(ValueError, match=r"fraction=0.1 of 4 inhibitory units selects no unit"):
        apply_constraints([Dale(0.6), InhibitorySubtype("som", fraction=0.1)], 1, 10, 1)
    with pytest.raises(ValueError, match=r"give exactly one of fraction and count"):
        InhibitorySubtype("som", fraction=0.5, count=1)
    with pytest.raises(ValueError, match=r"give exactly one of fraction and count"):
        InhibitorySubtype("som")
    with pytest.raises(ValueError, match=r"name must not be one of"):
        InhibitorySubtype("E", count=1)
    with pytest.raises(TypeError, match=r"name must be a non-empty str; received 3 \(int\)"):
        InhibitorySubtype(3, count=1)
    with pytest.raises(ValueError, match=r"count must be a positive int; received 0"):
        InhibitorySubtype("som", count=0)


def test_cell_type_rule_zeroes_exactly_the_som_to_som_block():
    s = _som_structure()
    som = np.array([t == "som" for t in s.cell_types])
    expected = np.ones((10, 10))
    expected[np.ix_(som, som)] = 0
    np.testing.assert_array_equal(s.rec_connectivity, expected)
    assert s.rec_connectivity[6:8, 6:8].sum() == 0 and s.rec_connectivity.sum() == 96


def test_cell_type_rule_allowed_restores_block_but_not_autapses():
    s = apply_constraints([Dale(0.5), NoAutapses(), CellTypeRule("E", "I"),
                           CellTypeRule("*", "I", allowed=True)], 1, 4, 1)
    np.testing.assert_array_equal(s.rec_connectivity, 1 - np.eye(4))
    s = apply_constraints([Dale(0.5), CellTypeRule("I", "E")], 1, 4, 1)
    np.testing.assert_array_equal(s.rec_connectivity[:2, 2:], np.zeros((2, 2)))
    assert s.rec_connectivity.sum() == 12


def test_cell_type_rule_errors():
    with pytest.raises(ValueError,
                       match=r"pre='som' matches no unit; labels present: \['E', 'I'\]"):
        apply_constraints([Dale(0.5), CellTypeRule("som", "E")], 1, 4, 1)
    with pytest.raises(TypeError, match=r"CellTypeRule: post must be a non-empty str"):
        CellTypeRule("E", None)
    with pytest.raises(TypeError, match=r"allowed must be a bool; received 'no' \(str\)"):
        CellTypeRule("E", "I", allowed="no")


def test_fixed_weights_combine_and_check_shapes():
    m1 = np.zeros((4, 4), dtype=bool)
    m1[0, 1] = True
    m2 = np.zeros((4, 4))
    m2[2, 3] = 1
    s = apply_constraints([FixedWeights(W_rec=m1), FixedWeights(W_rec=m2)], 2, 4, 1)
    np.testing.assert_array_equal(s.fixed["W_rec"], m1 | m2.astype(bool))
    assert s.fixed["W_rec"].dtype == bool
    with pytest.raises(ValueError, match=r"FixedWeights: W_out must have shape \(1, 4\); "
                                         r"received shape \(4, 1\)"):
        apply_constraints([FixedWeights(W_out=np.ones((4, 1)))], 2, 4, 1)
    with pytest.raises(ValueError, match=r"FixedWeights: W_in must have shape \(4, 3\)"):
        ModelSpec(N_rec=4, N_in=3, constraints=(FixedWeights(W_in=np.ones((4, 2))),))


def test_build_structure_order():
    conn = np.ones((6, 6))
    conn[0, 5] = 0
    spec = ModelSpec(N_rec=6, dale_ratio=0.5, autapses=False, rec_connectivity=conn,
                     constraints=(InhibitorySubtype("som", count=1),
                                  CellTypeRule("*", "*", allowed=True)))
    kinds = [type(c).__name__ for c in spec_constraints(spec)]
    assert kinds == ["ConnectivityMask", "Dale", "InhibitorySubtype", "CellTypeRule",
                     "NoAutapses"]
    s = build_structure(spec, 2, 1, rng(0))
    # the rule re-allowed conn[0, 5]; autapses are removed last
    np.testing.assert_array_equal(s.rec_connectivity, 1 - np.eye(6))
    assert list(s.cell_types) == ["E", "E", "E", "som", "I", "I"]
    e = s.to_weights_entries()
    assert float(e["dale_ratio"]) == 0.5
    assert build_structure(ModelSpec(N_rec=3), 2, 1, 0).dale_signs is None
    with pytest.raises(ValueError, match=r"build_structure: N_in must be a positive int"):
        build_structure(spec, 0, 1, rng(0))
    with pytest.raises(TypeError, match=r"expected Constraint objects; received 'x' \(str\)"):
        apply_constraints(["x"], 1, 2, 1)


ALL = [
    ConnectivityMask(input=np.ones((4, 2)), rec=1 - np.eye(4)),
    NoAutapses(),
    Dale(0.75),
    FixedWeights(W_rec=np.eye(4, dtype=bool), W_out=True),
    SparseConnectivity(0.5, p_in=0.7),
    InhibitorySubtype("som", fraction=0.5, random=True),
    CellTypeRule("som", "som"),
]


@pytest.mark.parametrize("constraint", ALL, ids=lambda c: type(c).__name__)
def test_to_dict_round_trip(constraint):
    d = constraint.to_dict()
    assert d["type"] == constraint.type_name
    assert CONSTRAINTS[d["type"]] is type(constraint)
    back = constraint_from_dict(d)
    assert back == constraint and hash(back) == hash(constraint)
    assert repr(back).startswith(type(constraint).__name__)


def test_constraint_equality():
    assert Dale(0.5) == Dale(0.5) and Dale(0.5) != Dale(0.6)
    assert NoAutapses() != Dale(0.5)
    assert len({SparseConnectivity(0.2), SparseConnectivity(0.2)}) == 1


def test_constraint_registry_errors():
    with pytest.raises(ValueError, match=r"'type' must be one of .* received 'gravity'"):
        constraint_from_dict({"type": "gravity"})
    with pytest.raises(TypeError, match=r"expected a dict; received 3 \(int\)"):
        constraint_from_dict(3)
    with pytest.raises(TypeError, match=r"Dale.from_dict: .*unexpected keyword"):
        constraint_from_dict({"type": "dale", "ratio": 0.5, "colour": "red"})
    with pytest.raises(TypeError, match=r"expected a Constraint subclass with a type_name"):
        register_constraint(int)


def test_custom_constraint_registers_and_applies():
    @register_constraint
    class Lesion(Constraint):
        type_name = "test_lesion"

        def __init__(self, unit: int) -> None:
            self.unit = unit

        def params(self) -> dict:
            return {"unit": self.unit}

        def apply(self, structure: Structure, rng: np.random.Generator) -> None:
            structure.rec_connectivity = structure.rec_connectivity.copy()
            structure.rec_connectivity[:, self.unit] = 0

    try:
        spec = ModelSpec(N_rec=3, constraints=(Lesion(1),))
        assert ModelSpec.from_json(spec.to_json()) == spec
        s = build_structure(spec, 1, 1, 0)
        np.testing.assert_array_equal(s.rec_connectivity[:, 1], 0)
    finally:
        CONSTRAINTS.pop("test_lesion")
