"""The command client's side: which commands it hands over, where it finds the server, what it sends,
what it does with each answer, and the signals it passes on (against a stand-in server in a thread)."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from workflows import command_client
from workflows.command_client import MessageReader, SignalRelay, is_flow_command, send_message, socket_path

Handler = Callable[[socket.socket, dict[str, Any], list[int]], None]


def test_only_the_commands_that_run_flows_are_handed_over() -> None:
    assert is_flow_command(["check", "--today", "2027-01-05"])
    assert is_flow_command(["cycle", "launch", "Spring 2027", "--deadline", "2027-04-01"])
    assert is_flow_command(["cycle", "collect", "Spring 2027"]) and is_flow_command(["cycle", "close", "S"])
    assert not is_flow_command(["cycle", "list"]) and not is_flow_command(["cycle", "show", "launch"])
    assert not is_flow_command(["serve"]) and not is_flow_command(["server", "status"])
    assert not is_flow_command([]) and not is_flow_command(["--help"])


def test_the_socket_is_in_prefects_home_as_the_environment_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sock = command_client.SOCKET_NAME
    assert socket_path({"PREFECT_HOME": "/srv/p", "FOLLOWUP_HOME": "/srv/f"}) == Path("/srv/p") / sock
    assert socket_path({"FOLLOWUP_HOME": "/srv/f"}) == Path("/srv/f/prefect") / sock
    home = socket_path({})
    assert home is not None and home.parts[-3:] == ("followup", "prefect", sock)


def test_a_dot_env_file_leaves_the_home_to_the_settings_and_the_command_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("FOLLOWUP_HOME=/srv/elsewhere\n")
    assert socket_path({}) is None
    assert socket_path({"FOLLOWUP_HOME": "/srv/f"}) == Path("/srv/f/prefect") / command_client.SOCKET_NAME


def test_the_code_version_changes_when_a_source_changes_appears_is_renamed_or_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "workflows" / "flows.py"
    source.parent.mkdir()
    source.write_text("x = 1\n")
    monkeypatch.setattr(command_client, "ROOT", tmp_path)
    monkeypatch.setattr(command_client, "PACKAGES", ("workflows",))
    versions = [command_client.code_version()]
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    versions.append(command_client.code_version())
    (tmp_path / "workflows" / "new.py").write_text("")
    versions.append(command_client.code_version())
    (tmp_path / "workflows" / "new.py").rename(tmp_path / "workflows" / "renamed.py")
    versions.append(command_client.code_version())
    (tmp_path / "workflows" / "renamed.py").unlink()
    versions.append(command_client.code_version())
    (tmp_path / "workflows" / "__pycache__").mkdir()  # compiled files are not sources
    (tmp_path / "workflows" / "__pycache__" / "flows.cpython-311.pyc").write_bytes(b"")
    assert len(set(versions)) == len(versions) - 1 and versions[-1] == versions[1]  # back as it was
    assert command_client.code_version() == versions[-1]


def test_a_message_brings_file_descriptors_that_write_to_the_same_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    left, right = socket.socketpair()
    with left, right, target.open("w") as out:
        send_message(left, {"argv": ["followup", "check"], "text": "é\nmore"}, [out.fileno()])
        reader = MessageReader(right)
        assert reader.next(max_fds=3) == {"argv": ["followup", "check"], "text": "é\nmore"}
        (fd,) = reader.fds
        os.write(fd, b"written through the received descriptor\n")
        os.close(fd)
        left.close()
        assert reader.next() is None
    assert target.read_text() == "written through the received descriptor\n"


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Handler], None]]:
    """Serve one request at the socket of this test's Prefect home with the handler given."""
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / command_client.SOCKET_NAME))
    listener.listen(1)
    threads: list[threading.Thread] = []

    def serve(handler: Handler) -> None:
        def one() -> None:
            conn, _ = listener.accept()
            with conn:
                reader = MessageReader(conn)
                request = reader.next(max_fds=3)
                if request is None:
                    return  # the client sent nothing (the handler is not called)
                try:
                    handler(conn, request, reader.fds)
                finally:
                    for fd in reader.fds:
                        os.close(fd)

        threads.append(threading.Thread(target=one, daemon=True))
        threads[-1].start()

    yield serve
    for thread in threads:  # each test connects: its connection is accepted, then the socket closed
        thread.join(timeout=10)
    listener.close()


def test_the_command_line_environment_and_streams_go_to_the_server_and_its_status_comes_back(
    stand_in: Callable[[Handler], None], capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    def handler(conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        seen.update(request)
        go_ahead(conn)
        os.write(fds[1], b"printed by the command\n")
        os.write(fds[2], b"logged by the command\n")
        send_message(conn, {"exit": 3})

    stand_in(handler)
    assert command_client.run_remote(["cycle", "collect", "Spring 2027"]) == 3
    assert capfd.readouterr() == ("printed by the command\n", "logged by the command\n")
    assert seen["argv"][1:] == ["cycle", "collect", "Spring 2027"]
    assert seen["env"]["PREFECT_HOME"] == str(tmp_path) and seen["cwd"] == os.getcwd()
    assert seen["version"] == command_client.code_version() and seen["umask"] == _umask()


def test_a_server_that_declines_leaves_the_command_to_this_process(
    stand_in: Callable[[Handler], None],
) -> None:
    stand_in(lambda conn, _request, _fds: send_message(conn, {"fallback": "stale"}))
    assert command_client.run_remote(["check"]) is None


def test_a_command_whose_process_died_without_a_status_fails_saying_so(
    stand_in: Callable[[Handler], None], capfd: pytest.CaptureFixture[str]
) -> None:
    def handler(conn: socket.socket, _request: dict[str, Any], _fds: list[int]) -> None:
        go_ahead(conn)  # then the connection closes with no answer

    stand_in(handler)
    assert command_client.run_remote(["check"]) == 1
    assert "ended without an exit status" in capfd.readouterr().err


def test_a_server_that_closes_before_its_process_is_ready_leaves_the_command_to_this_process(
    stand_in: Callable[[Handler], None], capfd: pytest.CaptureFixture[str]
) -> None:
    stand_in(lambda _conn, _request, _fds: None)  # nothing ran: running it here cannot run it twice
    assert command_client.run_remote(["check"]) is None
    assert capfd.readouterr().err == ""


def test_a_server_that_does_not_answer_leaves_the_command_to_this_process_without_a_go(
    stand_in: Callable[[Handler], None], capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command_client, "ANSWER_TIMEOUT_SECONDS", 0.5)
    after_request: list[dict[str, Any] | None] = []
    # Hung: it reads on and never says it is ready; what it reads next is the client going away.
    stand_in(lambda conn, _request, _fds: after_request.append(MessageReader(conn).next()))
    assert command_client.run_remote(["check"]) is None
    assert "the command server did not answer within 0 s" in capfd.readouterr().err
    _wait_for(lambda: bool(after_request))
    assert after_request == [None]  # no "go": the server's process never runs it


def test_a_socket_served_by_another_user_gets_no_command(
    stand_in: Callable[[Handler], None], capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command_client, "peer_uid", lambda _sock: os.getuid() + 1)
    requests: list[dict[str, Any]] = []
    stand_in(lambda _conn, request, _fds: requests.append(request))
    assert command_client.run_remote(["check"]) is None
    assert "is served by another user: running the command here" in capfd.readouterr().err
    assert requests == []  # neither the environment nor the terminal was handed over


def test_the_peer_of_a_unix_socket_is_this_user() -> None:
    left, right = socket.socketpair()
    with left, right:
        assert command_client.peer_uid(left) in (os.getuid(), None)


def test_the_command_runs_here_when_no_server_listens_or_an_api_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert command_client.run_remote(["check"]) is None  # no socket at all
    (tmp_path / command_client.SOCKET_NAME).write_text("")  # a file nobody listens on
    assert command_client.run_remote(["check"]) is None
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert command_client.run_remote(["check"]) is None


def test_ctrl_c_while_the_command_runs_is_passed_on_to_it(stand_in: Callable[[Handler], None]) -> None:
    main_thread = threading.get_ident()

    def handler(conn: socket.socket, _request: dict[str, Any], _fds: list[int]) -> None:
        reader = go_ahead(conn)
        # The terminal's Ctrl-C reaches the client's only thread. This process has others (this
        # stand-in, event loops of earlier tests): one of them could take a signal sent to the
        # process, and the main thread, blocked reading, would not run its handler.
        signal.pthread_kill(main_thread, signal.SIGINT)
        relayed = reader.next()
        send_message(conn, {"exit": 130 if relayed == {"signal": signal.SIGINT} else 0})

    stand_in(handler)
    assert command_client.run_remote(["check"]) == 130
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_signals_before_the_request_is_sent_are_held_until_it_is() -> None:
    left, right = socket.socketpair()
    with left, right, SignalRelay(left) as relay:
        signal.raise_signal(signal.SIGTERM)
        right.setblocking(False)
        with pytest.raises(BlockingIOError):
            right.recv(100)  # nothing sent yet
        relay.start()
        right.setblocking(True)
        assert MessageReader(right).next() == {"signal": signal.SIGTERM}
    assert relay.received == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def go_ahead(conn: socket.socket) -> MessageReader:
    """As the command's process does: say it is ready, and expect the client's go (its reader, to read on)."""
    send_message(conn, {"ready": os.getpid()})
    reader = MessageReader(conn)
    assert reader.next() == {"go": True}
    return reader


def _wait_for(condition: Callable[[], bool]) -> None:
    give_up = time.monotonic() + 10
    while not condition() and time.monotonic() < give_up:
        time.sleep(0.05)


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask
