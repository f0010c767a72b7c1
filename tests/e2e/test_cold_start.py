"""A cold plugin cache: the start logs its compile progress
("compiling plugins n/N: <name> ...") so a slow first start is not
mistaken for a hang, and the next start loads from the cache."""


def test_cold_start_logs_compile_progress(make_gateway, tmp_path):
    env = {"MINISTACK_CACHE_DIR": str(tmp_path / "cache"), "SERVICES": "sts"}
    g = make_gateway(env=env, plugins_file=None)
    assert "compiling plugins 1/1: sts in " in g.logs()
    assert any((tmp_path / "cache").iterdir())
    g.restart()
    # Warm: nothing compiled the second time.
    assert g.logs().count("compiling plugins 1/1") == 1
