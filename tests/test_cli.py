"""The command line: help, the quick sweep, prove/verify round trips and bad input."""

import json
import shutil
import subprocess
import sys

import pytest

CLI = [sys.executable, "-m", "zkbench.cli"]


def zk(*args, cwd=None, env=None):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600)


def one_clean_line(result, code):
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("sub", [[], ["list"], ["run"], ["prove"], ["verify"], ["report"]])
def test_help(sub):
    r = zk(*sub, "--help")
    assert r.returncode == 0
    assert "usage: zkbench" in r.stdout


def test_list_shows_provers_and_workloads():
    r = zk("list")
    assert r.returncode == 0
    assert "plain" in r.stdout and "available" in r.stdout
    assert "matmul" in r.stdout and "n=2048" in r.stdout


def test_quick_sweep_writes_results_report_and_figure(tmp_path):
    r = zk("run", "--provers", "null,plain", "--out", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    for name in ("results.jsonl", "results.parquet", "report.md", "prove_time.png"):
        assert (out / name).stat().st_size > 0, name
    assert "| matmul" in r.stdout and "plain" in r.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["--provers", "nope"], "unknown prover 'nope'"),
     (["--workloads", "nope"], "unknown workload 'nope'"),
     (["--sizes", "n=17"], "n=17"),
     (["--suite", "nope"], "unknown suite"),
     (["--mem-limit", "lots"], "--mem-limit"),
     (["--repeat", "0"], "--repeat")],
)
def test_run_bad_input_is_one_line(tmp_path, args, needle):
    line = one_clean_line(zk("run", *args, "--out", str(tmp_path / "o")), 2)
    assert needle in line


def test_run_refuses_an_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    line = one_clean_line(zk("run", "--provers", "null", "--out", str(blocker / "sub")), 2)
    assert "not writable" in line


def test_run_never_overwrites_results(tmp_path):
    out = tmp_path / "o"
    assert zk("run", "--provers", "null", "--sizes", "n=16", "--out", str(out)).returncode == 0
    before = (out / "results.jsonl").read_bytes()
    line = one_clean_line(zk("run", "--provers", "null", "--out", str(out)), 2)
    assert "--resume" in line
    assert (out / "results.jsonl").read_bytes() == before


@pytest.fixture(scope="module")
def plain_proof(tmp_path_factory):
    out = tmp_path_factory.mktemp("proof")
    r = zk("prove", "--prover", "plain", "--workload", "matmul", "--size", "n=16", "--seed", "3",
           "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


def _copy(src, tmp_path):
    dst = tmp_path / "p"
    shutil.copytree(src, dst)
    return dst


def test_prove_verify_round_trip(plain_proof):
    r = zk("verify", str(plain_proof))
    assert r.returncode == 0, r.stderr
    assert "accepted" in r.stdout


@pytest.mark.parametrize("pos", [0, 9, 100, -1])
def test_flipped_proof_byte_is_rejected(plain_proof, tmp_path, pos):
    d = _copy(plain_proof, tmp_path)
    data = bytearray((d / "proof.bin").read_bytes())
    data[pos] ^= 0x01
    (d / "proof.bin").write_bytes(bytes(data))
    one_clean_line(zk("verify", str(d)), 1)


@pytest.mark.parametrize(
    ("field", "value"),
    [("output", "bump"), ("seed", 4), ("size", "n=32"), ("quant_bits", 7),
     ("output_shape", [256])],
)
def test_edited_statement_is_rejected(plain_proof, tmp_path, field, value):
    d = _copy(plain_proof, tmp_path)
    st = json.loads((d / "statement.json").read_text())
    if value == "bump":
        st["output"][5] += 1
    else:
        st[field] = value
    (d / "statement.json").write_text(json.dumps(st))
    line = one_clean_line(zk("verify", str(d)), 1)
    assert "rejected" in line


@pytest.mark.parametrize(
    ("damage", "needle"),
    [("no-proof", "proof.bin"), ("no-statement", "statement.json"),
     ("garbage-statement", "not valid JSON"), ("unknown-prover", "unknown prover"),
     ("unknown-workload", "unknown workload"), ("missing-field", "seed")],
)
def test_unusable_proof_folder_is_exit_2(plain_proof, tmp_path, damage, needle):
    d = _copy(plain_proof, tmp_path)
    st = json.loads((d / "statement.json").read_text())
    if damage == "no-proof":
        (d / "proof.bin").unlink()
    elif damage == "no-statement":
        (d / "statement.json").unlink()
    elif damage == "garbage-statement":
        (d / "statement.json").write_text("{not json")
    else:
        if damage == "unknown-prover":
            st["prover"] = "nope"
        elif damage == "unknown-workload":
            st["workload"] = "nope"
        else:
            del st["seed"]
        (d / "statement.json").write_text(json.dumps(st))
    assert needle in one_clean_line(zk("verify", str(d)), 2)


def test_report_reads_a_results_file_with_a_torn_tail(tmp_path):
    out = tmp_path / "o"
    assert zk("run", "--provers", "plain", "--sizes", "n=16", "--out", str(out)).returncode == 0
    with (out / "results.jsonl").open("a") as fh:
        fh.write('{"cell_id": "torn')
    r = zk("report", str(out / "results.jsonl"), "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    assert "plain" in (tmp_path / "rep" / "report.md").read_text()


def test_report_names_a_corrupt_line(tmp_path):
    bad = tmp_path / "results.jsonl"
    bad.write_text('{"a": 1}\nnot json\n{"b": 2}\n')
    line = one_clean_line(zk("report", str(bad), "--out", str(tmp_path / "rep")), 2)
    assert "line 2" in line


def test_gkr_prove_verify_round_trip_and_tampering(tmp_path):
    out = tmp_path / "gkr"
    r = zk("prove", "--prover", "gkr", "--workload", "matmul", "--size", "n=32", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert zk("verify", str(out)).returncode == 0
    data = (out / "proof.bin").read_bytes()
    for pos in (0, 8, len(data) // 2, len(data) - 1):
        bad = bytearray(data)
        bad[pos] ^= 0x04
        (out / "proof.bin").write_bytes(bytes(bad))
        one_clean_line(zk("verify", str(out)), 1)
    (out / "proof.bin").write_bytes(data)
    st = json.loads((out / "statement.json").read_text())
    st["output"][0] -= 1
    (out / "statement.json").write_text(json.dumps(st))
    assert "rejected" in one_clean_line(zk("verify", str(out)), 1)
