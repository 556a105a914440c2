"""The export is the list: same sort as the page, codes as labels in the reader's language."""

import csv
import io

from tests.conftest import login
from tests.factories import make_enterprise, make_user
from tracker.extensions import db


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_enterprise_export_follows_the_list_sort(client):
    names = ["天津乙公司", "天津甲公司", "天津丙公司"]
    for name in names:
        make_enterprise(name=name)
    db.session.commit()
    login(client, make_user("bureau"))
    rows = _csv(client.get("/imports/export/enterprises?format=csv&sort=-created"))
    assert [r[0] for r in rows[1:]] == list(reversed(names))
    rows = _csv(client.get("/imports/export/enterprises?format=csv&sort=name"))
    # names sort in pinyin order, as on the list: bing, jia, yi
    assert [r[0] for r in rows[1:]] == ["天津丙公司", "天津甲公司", "天津乙公司"]


def test_enterprise_export_in_english_uses_english_labels(client):
    make_enterprise(name="天津甲公司", zone="teda", tech_field="new_energy")
    db.session.commit()
    login(client, make_user("bureau", locale="en"))
    header, row = _csv(client.get("/imports/export/enterprises?format=csv"))
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in "".join(header)), header
    assert row[0] == "天津甲公司"  # data stays as stored
    labels = row[2:8]
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in "".join(labels)), labels
