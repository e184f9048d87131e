from conftest import add_model, write


def test_register_and_show(cli, tmp_path):
    add_model(cli)
    artifact = write(tmp_path / "w.bin", b"weights")
    cli.ok("register", "M1@v1", "-a", str(artifact))
    assert "M1@v1" in cli.ok("show", "M1@v1")
