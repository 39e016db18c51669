"""Every in-tree prover passes the conformance kit; a new entry in the registry gets it too."""

from zkbench import registry
from zkbench.testing import ProverConformance

for _name in registry.PROVERS:
    _cls = f"TestConformance_{_name.replace('-', '_')}"
    globals()[_cls] = type(_cls, (ProverConformance,), {"prover_name": _name})
