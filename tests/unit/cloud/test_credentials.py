"""gateway import-certs: a thing bundle configures the cloud; bad bundles change nothing."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import load_config
from tests.tls_certs import issue, make_ca

CONFIG = """# the plant's AWS connection
groups: [{name: g}]
clouds:
  - name: aws            # keep this comment
    type: aws-iot
    host: abc123-ats.iot.eu-west-1.amazonaws.com
    client_id: placeholder
    cert: none.pem
    key: none.key
    root_ca: AmazonRootCA1.pem
"""


def _bundle(tmp_path: Path, entries: dict[str, bytes]) -> Path:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    path = tmp_path / "bundle.zip"
    path.write_bytes(data.getvalue())
    return path


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text(CONFIG)
    return tmp_path


def _credentials(tmp_path: Path, name: str) -> tuple[bytes, bytes]:
    ca = make_ca(tmp_path / "pki", "ca")
    thing = issue(ca, tmp_path / "pki", name)
    return thing.cert_path.read_bytes(), thing.key_path.read_bytes()


def test_a_thing_bundle_configures_the_cloud(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cert, key = _credentials(site, "pump-7")
    bundle = _bundle(site, {"pump-7/cert.pem": cert, "pump-7/privkey.pem": key, "pump-7/readme.txt": b"hi"})
    assert main(["import-certs", str(bundle), "-c", str(site / "config.yaml"), "--cloud", "aws"]) == 0
    out = capsys.readouterr().out
    assert "cloud 'aws' now connects as pump-7" in out and "PRIVATE KEY" not in out
    cloud = load_config(site / "config.yaml").model.clouds[0]
    assert (cloud.client_id, cloud.cert, cloud.key) == ("pump-7", "state/certs/pump-7/cert.pem",
                                                         "state/certs/pump-7/privkey.pem")
    key_file = site / "state/certs/pump-7/privkey.pem"
    assert key_file.read_bytes() == key and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    text = (site / "config.yaml").read_text()
    assert "# keep this comment" in text and "# the plant's AWS connection" in text
    assert (site / "config.yaml.bak").read_text() == CONFIG


@pytest.mark.parametrize(("entries", "reason"), [
    ({"../evil/cert.pem": b"x", "../evil/privkey.pem": b"y"}, "points outside the bundle"),
    ({"pump 7;rm/cert.pem": b"x", "pump 7;rm/privkey.pem": b"y"}, "not a valid thing name"),
    ({"pump-7/cert.pem": b"not a pem", "pump-7/privkey.pem": b"not a key"}, "the certificate is not a PEM certificate"),
    ({"pump-7/cert.pem": b"x"}, "no folder with both cert.pem and privkey.pem"),
])
def test_bad_bundles_change_nothing(site: Path, entries: dict[str, bytes], reason: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _bundle(site, entries)
    assert main(["import-certs", str(bundle), "-c", str(site / "config.yaml"), "--cloud", "aws"]) == 2
    assert reason in capsys.readouterr().err
    assert (site / "config.yaml").read_text() == CONFIG
    assert not (site / "state").exists() or not any((site / "state").rglob("privkey.pem"))
    assert not (site.parent / "evil").exists()


def test_a_key_of_another_certificate_is_refused(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cert, _ = _credentials(site, "pump-7")
    _, other_key = _credentials(site / "other", "pump-8")
    bundle = _bundle(site, {"pump-7/cert.pem": cert, "pump-7/privkey.pem": other_key})
    assert main(["import-certs", str(bundle), "-c", str(site / "config.yaml"), "--cloud", "aws"]) == 2
    assert "the key does not belong to the certificate" in capsys.readouterr().err


def test_several_things_need_a_choice(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _credentials(site, "a"), _credentials(site / "b", "b")
    bundle = _bundle(site, {"a/cert.pem": first[0], "a/privkey.pem": first[1],
                            "b/cert.pem": second[0], "b/privkey.pem": second[1]})
    assert main(["import-certs", str(bundle), "-c", str(site / "config.yaml"), "--cloud", "aws"]) == 2
    assert "pick one with --thing" in capsys.readouterr().err
    assert main(["import-certs", str(bundle), "-c", str(site / "config.yaml"), "--cloud", "aws", "--thing", "b"]) == 0
    assert load_config(site / "config.yaml").model.clouds[0].client_id == "b"
