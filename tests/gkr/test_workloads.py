"""Every registered workload's smallest size (and matmul's rectangular and batched shapes),
proven and verified by gkr, with the tamper check the runner applies (a flipped proof byte and
a wrong public output)."""

import pytest

from zkbench import registry
from zkbench.cell import tamper_check
from zkbench.testing import prepare

SMALLEST = [(w, registry.create_workload(w).quick_sizes()[0]) for w in registry.workload_names()]
SMALLEST += [("matmul", "256x64x1024"), ("matmul", "b8:16x64x64")]


@pytest.mark.parametrize(("workload", "size"), SMALLEST)
def test_gkr_proves_the_smallest_size(workload, size, tmp_path):
    case = prepare("gkr", workload, size, workdir=tmp_path)
    assert case.prover.verify(case.artifact, case.keys, case.proof) is True
    assert (case.proof.statement.output == case.qmodel.output(case.x)).all()
    rejected, reason = tamper_check(case.prover, case.artifact, case.keys, case.proof, seed=0)
    assert rejected is True, reason
    assert case.prover.security_bits(case.artifact) >= 100
