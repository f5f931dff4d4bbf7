"""`recover cutover` against production as it is when the cutover runs: collection validators a dropped
database loses, documents production touched between verify and cutover, and the round-trips of a
write-back of replacements (issue 26)."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import WriteError

from backstop.clients.mongo_manifest import format_id
from backstop.operations.recover import cutover
from backstop.operations.recover.store import RECOVERY_LOG
from tests.fakes.recover_world import RecoverWorld
from tests.recover_support import audited_world  # noqa: F401 (the `audited` fixture)
from tests.test_recover import _drop_tenant, incident_args, loss_args, restore, run, steps

EXECUTE = ("--execute", "--confirm", "tenant_acme")
VALIDATOR = {"$jsonSchema": {"bsonType": "object", "required": ["n", "total"]}}


def _logged(world: RecoverWorld, incident: str, step: str) -> list[dict[str, Any]]:
    return list(world.evidence[RECOVERY_LOG].find({"incidentId": incident, "step": step}).sort("sequence", 1))


# --- validators come back with a dropped database ----------------------------------------------------------


def test_a_dropped_tenant_database_gets_its_validators_back_before_its_documents(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    copy = audited.recovery_client(f"recover-{incident}")["tenant_acme"]
    # What Atlas restores along with the documents (the fake's restore copies documents only).
    copy.command(
        "collMod", "orders", validator=VALIDATOR, validationLevel="moderate", validationAction="error"
    )
    assert run(capsys, *audited.args("recover", "verify", *incident_args(incident)))[0] == 0
    production = audited.source["tenant_acme"]
    code, out, _ = run(capsys, *audited.args("recover", "cutover", *incident_args(incident)))
    assert code == 0
    assert (
        "Collection validators production lacks, to restore before the write-back:\n"
        '- `orders` create {"validator":{"$jsonSchema":{"bsonType":"object","required":["n","total"]}},'
        '"validationLevel":"moderate","validationAction":"error"}\n'
    ) in out
    assert "orders" not in production.list_collection_names()  # a dry run
    code, out, err = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert code == 0, out + err
    options = {c["name"]: c["options"] for c in production.list_collections()}
    assert options == {
        "orders": {"validator": VALIDATOR, "validationLevel": "moderate", "validationAction": "error"},
        "customers": {},
        "reviews": {},
    }
    assert production["orders"].count_documents({}) == 40
    with pytest.raises(WriteError):
        production["orders"].insert_one({"n": 41})  # the validator is in force again
    # Logged before it is sent, and once acknowledged; both before any order is written back.
    [intent] = _logged(audited, incident, "cutover-options-writing")
    [done] = _logged(audited, incident, "cutover-options-write")
    assert (intent["collection"], intent["action"], done["collection"], done["action"]) == (
        "orders",
        "create",
        "orders",
        "create",
    )
    assert (
        intent["options"]
        == done["options"]
        == (
            '{"validator":{"$jsonSchema":{"bsonType":"object","required":["n","total"]}},'
            '"validationLevel":"moderate","validationAction":"error"}'
        )
    )
    [first_orders] = [e for e in _logged(audited, incident, "cutover-writing") if e["collection"] == "orders"]
    assert intent["sequence"] < done["sequence"] < first_orders["sequence"]
    # Once there, a rerun restores nothing.
    code, out, _ = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert code == 0 and "Collection validators" not in out
    assert len(_logged(audited, incident, "cutover-options-writing")) == 1


def test_a_collection_production_recreated_without_its_validator_gets_it_by_collmod(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_drop_tenant)
    audited.source["tenant_acme"]["orders"].insert_one({"_id": "after-the-loss", "n": -1, "total": 0})
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    copy = audited.recovery_client(f"recover-{incident}")["tenant_acme"]
    copy.command("collMod", "orders", validator=VALIDATOR)
    assert run(capsys, *audited.args("recover", "verify", *incident_args(incident)))[0] == 0
    code, out, err = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert code == 0, out + err
    assert '- `orders` collMod {"validator":' in out
    options = {c["name"]: c["options"] for c in audited.source["tenant_acme"].list_collections()}
    assert options["orders"] == {"validator": VALIDATOR}
    assert audited.source["tenant_acme"]["orders"].count_documents({}) == 41


# --- conflicts found at cutover time ----------------------------------------------------------------------


def test_documents_production_touched_between_verify_and_cutover_are_conflicts_left_alone(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_drop_tenant)
    production = audited.source["tenant_acme"]
    changed = audited.backup["tenant_acme"]["customers"].find_one({"n": 4})
    production["customers"].insert_one(dict(changed, n=999))  # changed since the restore point
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    assert run(capsys, *audited.args("recover", "verify", *incident_args(incident)))[0] == 0
    # After verify: the application re-creates a missing order, and updates the changed customer again.
    missing = audited.backup["tenant_acme"]["orders"].find_one({"n": 5})
    recreated = dict(missing, n=555)
    production["orders"].insert_one(recreated)
    production["customers"].update_one({"_id": changed["_id"]}, {"$set": {"n": 1000}})
    code, out, err = run(
        capsys,
        *audited.args("recover", "cutover", *incident_args(incident), "--replace-changed", *EXECUTE),
    )
    assert code == 1, out + err
    assert (
        "Conflicts (not written):\n"
        f"- `customers` {format_id(changed['_id'])}: changed again in production since verify\n"
        f"- `orders` {format_id(missing['_id'])}: created in production since verify\n"
    ) in out
    assert production["orders"].find_one({"_id": missing["_id"]}) == recreated
    assert production["customers"].find_one({"_id": changed["_id"]}) == dict(changed, n=1000)
    assert production["orders"].count_documents({}) == 40  # the 39 others written back
    [completed] = _logged(audited, incident, "cutover-completed")
    assert {c["collection"]: c["conflicts"] for c in completed["collections"]} == {
        "customers": [f"{format_id(changed['_id'])}: changed again in production since verify"],
        "orders": [f"{format_id(missing['_id'])}: created in production since verify"],
        "reviews": [],
    }
    written = [
        (w["collection"], repr(i)) for w in _logged(audited, incident, "cutover-writing") for i in w["ids"]
    ]
    assert ("orders", repr(missing["_id"])) not in written
    assert ("customers", repr(changed["_id"])) not in written
    assert len(written) == 39 + 14 + 25


# --- replacements go in batches, each logged before it is sent --------------------------------------------


class _Counting:
    """A production client that records every collection method called: the round-trips."""

    def __init__(self, inner: Any, calls: list[tuple[str, str]]) -> None:
        self.inner, self.calls = inner, calls

    def __getitem__(self, name: str) -> Any:
        database, calls = self.inner[name], self.calls

        class Database:
            def __getattr__(self, attr: str) -> Any:
                return getattr(database, attr)

            def __getitem__(self, collection: str) -> Any:
                real = database[collection]

                class Collection:
                    def __getattr__(self, attr: str) -> Any:
                        value = getattr(real, attr)
                        if not callable(value):
                            return value

                        def counted(*args: Any, **kwargs: Any) -> Any:
                            calls.append((collection, attr))
                            return value(*args, **kwargs)

                        return counted

                return Collection()

        return Database()


def _customers_changed_after_a_collection_loss(
    world: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> str:
    world.lose(lambda client: client["tenant_acme"]["customers"].update_many({}, {"$set": {"n": -1}}))
    incident = restore(world, capsys, *loss_args("collection", collection="customers"), "--quiet")
    assert run(capsys, *world.args("recover", "verify", *incident_args(incident)))[0] == 0
    return incident


def test_replacements_are_batched_and_each_batch_is_logged_before_it_is_sent(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    incident = _customers_changed_after_a_collection_loss(audited, capsys)
    monkeypatch.setattr(cutover, "LOG_BATCH", 10)  # 15 changed customers: two batches
    calls: list[tuple[str, str]] = []
    audited.production_wrapper = lambda client: _Counting(client, calls)
    code, out, err = run(
        capsys,
        *audited.args("recover", "cutover", *incident_args(incident), "--replace-changed", *EXECUTE),
    )
    assert code == 0, out + err
    assert "| `customers` | 0 | 15 | 0 | 0 | 0 |" in out
    writes = [c for c in calls if c[1] in ("find", "find_one", "replace_one", "bulk_write")]
    assert writes == [("customers", "find"), ("customers", "bulk_write")] * 2
    logged = [
        (e["step"], e["action"], e["count"])
        for e in audited.evidence[RECOVERY_LOG]
        .find({"incidentId": incident, "step": {"$in": ["cutover-writing", "cutover-write"]}})
        .sort("sequence", 1)
    ]
    assert logged == [
        ("cutover-writing", "replace", 10),
        ("cutover-write", "replace", 10),
        ("cutover-writing", "replace", 5),
        ("cutover-write", "replace", 5),
    ]
    backup = audited.backup["tenant_acme"]["customers"]
    assert list(audited.source["tenant_acme"]["customers"].find().sort("n", 1)) == list(
        backup.find().sort("n", 1)
    )


def test_a_batch_member_production_changed_meanwhile_is_a_conflict_the_others_are_replaced(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = _customers_changed_after_a_collection_loss(audited, capsys)
    production = audited.source["tenant_acme"]["customers"]
    target = audited.backup["tenant_acme"]["customers"].find_one({"n": 7})

    class ChangedDuringTheBatch(_Counting):
        """The application updates one customer after the cutover read it, before the bulk write lands."""

        def __getitem__(self, name: str) -> Any:
            database = super().__getitem__(name)
            outer = database.__getitem__

            def getitem(collection: str) -> Any:
                wrapped = outer(collection)
                real_bulk = wrapped.bulk_write

                class Collection:
                    def __getattr__(self, attr: str) -> Any:
                        return getattr(wrapped, attr)

                    def bulk_write(self, requests: Any, **options: Any) -> Any:
                        production.update_one({"_id": target["_id"]}, {"$set": {"n": 7777}})
                        return real_bulk(requests, **options)

                return Collection()

            class Database:
                def __getattr__(self, attr: str) -> Any:
                    return getattr(database, attr)

                def __getitem__(self, collection: str) -> Any:
                    return getitem(collection)

            return Database()

    audited.production_wrapper = lambda client: ChangedDuringTheBatch(client, [])
    code, out, err = run(
        capsys,
        *audited.args("recover", "cutover", *incident_args(incident), "--replace-changed", *EXECUTE),
    )
    assert code == 1, out + err
    assert f"- `customers` {format_id(target['_id'])}: changed in production meanwhile" in out
    assert production.find_one({"_id": target["_id"]})["n"] == 7777
    assert production.count_documents({"n": -1}) == 0 and production.count_documents({"n": 7777}) == 1
    [done] = _logged(audited, incident, "cutover-write")
    assert done["count"] == 14 and repr(target["_id"]) not in [repr(i) for i in done["ids"]]
    assert "cutover-completed" in steps(audited, incident)
