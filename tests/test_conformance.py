"""Every in-tree prover passes the conformance kit; a new entry in the registry gets it too.

Peers (``peer = True``: adapters over external tools) get the kit in their own
``tests/test_peer_*.py``, marked ``peers``."""

from zkbench import registry
from zkbench.testing import ProverConformance

for _name in registry.PROVERS:
    if getattr(registry.prover_class(_name), "peer", False):
        continue
    _cls = f"TestConformance_{_name.replace('-', '_')}"
    globals()[_cls] = type(_cls, (ProverConformance,), {"prover_name": _name})
