"""Workloads: deterministic float ONNX models with named sizes and their inputs."""
