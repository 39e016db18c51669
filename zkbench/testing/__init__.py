"""Conformance kits every prover (and later every field and backend) must pass.

Use from a test module::

    from zkbench.testing import ProverConformance

    class TestMyProver(ProverConformance):
        prover_name = "my-prover"

pytest then collects the kit's tests for that prover. The kit needs pytest (extra ``test``).
"""

from zkbench.testing.conformance import Case, ProverConformance, prepare

__all__ = ["Case", "ProverConformance", "prepare"]
