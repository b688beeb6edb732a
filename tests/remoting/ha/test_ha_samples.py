"""samples/ha: the chapter's ten exporters served by ``springpython run`` and a client
pool in a second process, plus the chapter's section 8.4 code in one process."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from helpers_ha import LineReader, free_port

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "ha"
CHAPTER_PORT = "7766"


@pytest.fixture
def sample_files(tmp_path):
    """The sample's XML files with Pyro's port 7766 replaced by a free port."""
    port = str(free_port())
    for name in ("server.xml", "client.xml"):
        text = (SAMPLES / name).read_text()
        assert CHAPTER_PORT in text
        (tmp_path / name).write_text(text.replace(CHAPTER_PORT, port))
    return tmp_path


def test_ten_exporters_and_a_client_pool_run_as_two_processes(spawn, sample_files):
    """The client's pool gets answers from all ten copies served by 'springpython run server.xml'."""
    server = spawn(["-m", "springpython", "run", sample_files / "server.xml"], cwd=SAMPLES)
    lines = LineReader(server)
    lines.wait_for(lambda line: line.startswith("serving 10 service(s)"), timeout=60)
    assert sum(line.startswith("exported exporter") for line in lines.lines) == 10

    client = spawn([SAMPLES / "client.py", sample_files / "client.xml"], cwd=SAMPLES)
    out, err = client.communicate(timeout=60)
    assert client.returncode == 0, err
    assert out.splitlines() == [
        "CLIENT: You got remote data => Hello",
        "CLIENT: You got remote data => World",
        "CLIENT: answered by " + ", ".join(f"ServiceName{i}" for i in range(10)),
    ]

    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) == 0
    assert lines.wait_for(lambda line: line == "stopped", timeout=10)

    again = spawn([SAMPLES / "client.py", sample_files / "client.xml"], cwd=SAMPLES)
    out, err = again.communicate(timeout=60)
    assert again.returncode != 0
    assert "AllEndpointsDownError: get_data() was not sent: all 10 endpoint(s) of the pool are down" in err
    assert err.count("Connection refused") >= 10


def test_chapter_section_8_4_runs_in_one_process(spawn):
    """The chapter's loops of exporters and proxies, with the pool in place of its utility class."""
    proc = spawn([SAMPLES / "chapter.py", free_port()], cwd=SAMPLES)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.splitlines() == [
        "You got remote data => Hello",
        "You got remote data => World",
        "answered by " + ", ".join(f"ServiceName{i}" for i in range(10)),
    ]
