"""The criterion review and the card's draft through the JSON API (Flask's test client)."""

from __future__ import annotations

from tests.test_web_api import app, login, post_json, template  # noqa: F401 - fixtures

CRITERION = "FF-ST-01"


def test_the_card_carries_its_criterions_draft(app):  # noqa: F811
    client = login(app, "ann")
    card = client.get("/api/next?doc=1").json["card"]
    draft = card["draft"]
    assert set(draft) >= {"level", "reason", "evidence", "source", "this_passage"}
    assert draft["source"] in ("pre-score", "classifiers", "not assessed")


def test_a_criterion_is_reviewed_by_json_with_four_eyes(app):  # noqa: F811
    ann, rob = login(app, "ann"), login(app, "rob")
    admin = login(app, "ada")
    view = admin.get(f"/api/criterion-review/1/{CRITERION}").json["view"]
    version = view["criteria_version"]
    turned = admin.post(
        "/admin/criteria", data={"version": version, "four_eyes": "1", "csrf_token": admin.token}
    )
    assert turned.status_code == 302
    first = ann.get("/api/criterion-review/next?doc=1").json["view"]
    assert first["criterion"]["id"] and first["progress"]["criteria"] == 40
    passage = view["passages"][0]["passage_id"]
    url = f"/api/criterion-review/1/{CRITERION}/decide"
    bad = post_json(ann, url, {"level": 2, "evidence": []})
    assert bad.status_code == 400 and "needs the passages" in bad.json["error"]
    assert post_json(ann, url, {"level": "x"}).status_code == 400
    assert post_json(ann, url, {"level": 1, "evidence": "12"}).status_code == 400
    assert post_json(ann, url, {"level": 1}, token=False).status_code == 400  # CSRF
    assert ann.get("/api/criterion-review/1/XX-9").status_code == 404
    saved = post_json(ann, url, {"level": 2, "evidence": [passage]})
    assert saved.status_code == 200
    status = ann.get(f"/api/criterion-review/1/{CRITERION}").json["view"]["status"]
    assert status == "awaiting second review"  # four eyes at criterion level too
    assert post_json(rob, url, {"level": 2, "evidence": [passage]}).status_code == 200
    view = rob.get(f"/api/criterion-review/1/{CRITERION}").json["view"]
    assert view["status"] == "confirmed" and view["level"] == 2
    undo = post_json(ann, f"/api/criterion-decisions/{saved.json['decision_id']}/undo", {})
    assert undo.status_code == 200
    again = post_json(ann, f"/api/criterion-decisions/{saved.json['decision_id']}/undo", {})
    assert again.status_code == 400 and "already undone" in again.json["error"]
