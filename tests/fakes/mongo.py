"""In-process MongoDB stand-ins (mongomock) behind the same `connect(uri, **kwargs)` seam backstop uses."""

from __future__ import annotations

from typing import Any

import mongomock


class MongoStandIns:
    """One mongomock client per connection string; every connection is recorded (credentials included)."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.connections: list[tuple[str, dict[str, Any]]] = []
        self.client_class: Any = mongomock.MongoClient

    def client(self, uri: str) -> Any:
        if uri not in self.clients:
            self.clients[uri] = self.client_class()
        return self.clients[uri]

    def connect(self, uri: str, **kwargs: Any) -> Any:
        self.connections.append((uri, kwargs))
        return self.client(uri)


def copy_databases(source: Any, target: Any, names: list[str] | None = None) -> None:
    """What a restore does to the target: drop what is there, then every document of every collection."""
    for name in target.list_database_names():
        target.drop_database(name)
    for name in names if names is not None else source.list_database_names():
        for collection in source[name].list_collection_names():
            documents = list(source[name][collection].find())
            if documents:
                target[name][collection].insert_many(documents)
            else:
                target[name].create_collection(collection)


class SnapshotReplicaSet:
    """mongomock plus the one replica-set behaviour a manifest relies on: `start_session(snapshot=True)`,
    whose first read reports `atClusterTime`. Reads made with the session are recorded."""

    def __init__(self, inner: Any, cluster_time: tuple[int, int]) -> None:
        self.inner = inner
        self.cluster_time = cluster_time
        self.session_reads: list[tuple[str, str]] = []
        self.sessions: list[_SnapshotSession] = []

    def start_session(self, snapshot: bool = False) -> _SnapshotSession:
        assert snapshot is True
        session = _SnapshotSession()
        self.sessions.append(session)
        return session

    def list_database_names(self) -> list[str]:
        return list(self.inner.list_database_names())

    def __getitem__(self, name: str) -> _SnapshotDatabase:
        return _SnapshotDatabase(self, self.inner[name])


class _SnapshotSession:
    def __init__(self) -> None:
        self.ended = False

    def end_session(self) -> None:
        self.ended = True


class _SnapshotDatabase:
    def __init__(self, replica_set: SnapshotReplicaSet, inner: Any) -> None:
        self.replica_set = replica_set
        self.inner = inner

    def list_collection_names(self, session: Any = None) -> list[str]:
        assert session is None, "listCollections is not a snapshot read"
        return list(self.inner.list_collection_names())

    def command(self, name: str, value: Any, session: Any = None, **kwargs: Any) -> dict[str, Any]:
        from bson import Timestamp

        assert name == "aggregate" and isinstance(session, _SnapshotSession)
        self.replica_set.session_reads.append(("aggregate", str(value)))
        return {
            "cursor": {"firstBatch": [], "id": 0, "atClusterTime": Timestamp(*self.replica_set.cluster_time)},
            "ok": 1.0,
        }

    def __getitem__(self, name: str) -> _SnapshotCollection:
        return _SnapshotCollection(self.replica_set, self.inner[name])


class _SnapshotCollection:
    def __init__(self, replica_set: SnapshotReplicaSet, inner: Any) -> None:
        self.replica_set = replica_set
        self.inner = inner

    def count_documents(self, filter: Any, session: Any = None) -> int:
        assert isinstance(session, _SnapshotSession)
        self.replica_set.session_reads.append(("count", self.inner.name))
        return int(self.inner.count_documents(filter))

    def aggregate(self, pipeline: Any, session: Any = None) -> Any:
        assert isinstance(session, _SnapshotSession)
        self.replica_set.session_reads.append(("aggregate", self.inner.name))
        return self.inner.aggregate(pipeline)


# --- collection options: what mongomock leaves out (create_collection options, list_collections, collMod)

_OPTION_KEYS = ("validator", "validationLevel", "validationAction")


class OptionsMongoClient(mongomock.MongoClient):
    """mongomock plus collection options, the part of a real server a restored validator needs:
    `create_collection(name, validator=..., validationLevel=..., validationAction=...)`,
    `command("collMod", name, ...)` and `list_collections()` reporting them; an insert missing a field of the
    validator's `$jsonSchema.required` list is refused (code 121), as a server with `validationAction: error`
    does. Options go with the collection when it is dropped."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.collection_options: dict[tuple[str, str], dict[str, Any]] = {}

    def get_database(self, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        db = self._database_accesses.get(name)
        if db is None:
            db = self._database_accesses[name] = _OptionsDatabase(self, name, _store=self._store[name])
        return db


class _OptionsDatabase(mongomock.Database):
    def _options(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._client.collection_options  # type: ignore[no-any-return]

    def get_collection(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if name not in self._collection_accesses:
            self._ensure_valid_collection_name(name)
            self._collection_accesses[name] = _ValidatedCollection(self, name=name, _db_store=self._store)
        return self._collection_accesses[name]

    def create_collection(self, name: str, **options: Any) -> Any:
        unknown = set(options) - set(_OPTION_KEYS)
        if unknown:
            raise NotImplementedError(f"collection options {sorted(unknown)}")
        collection = super().create_collection(name)
        if options:
            self._options()[(self.name, name)] = dict(options)
        return collection

    def command(self, command: Any, value: Any = 1, **kwargs: Any) -> Any:
        if command != "collMod":
            return super().command(command)
        if value not in self.list_collection_names():
            raise mongomock.OperationFailure(f"ns does not exist: {self.name}.{value}", 26)
        options = {k: v for k, v in kwargs.items() if k in _OPTION_KEYS}
        self._options()[(self.name, value)] = dict(self._options().get((self.name, value), {}), **options)
        return {"ok": 1.0}

    def list_collections(self, filter: Any = None, session: Any = None, nameOnly: bool = False) -> Any:
        assert filter is None and session is None and not nameOnly
        return iter(
            [
                {
                    "name": name,
                    "type": "collection",
                    "options": dict(self._options().get((self.name, name), {})),
                }
                for name in self.list_collection_names()
            ]
        )

    def drop_collection(self, name_or_collection: Any, session: Any = None) -> None:
        name = name_or_collection if isinstance(name_or_collection, str) else name_or_collection.name
        self._options().pop((self.name, name), None)
        super().drop_collection(name_or_collection, session)


class _BulkWithSort(mongomock.collection.BulkOperationBuilder):
    """The installed pymongo passes `sort` to every `ReplaceOne` it adds to a bulk; mongomock predates it."""

    def add_replace(
        self, selector: Any, doc: Any, upsert: Any, collation: Any = None, hint: Any = None, sort: Any = None
    ) -> None:
        assert sort is None
        super().add_replace(selector, doc, upsert, collation=collation, hint=hint)


class _ValidatedCollection(mongomock.Collection):
    def bulk_write(self, requests: Any, ordered: bool = True, **options: Any) -> Any:
        assert not options
        bulk = _BulkWithSort(self, ordered=ordered)
        for operation in requests:
            operation._add_to_bulk(bulk)
        return mongomock.results.BulkWriteResult(bulk.execute(), True)

    def _insert(self, data: Any, session: Any = None, ordered: bool = True) -> Any:
        if isinstance(data, dict):
            options = self.database._options().get((self.database.name, self.name), {})
            required = options.get("validator", {}).get("$jsonSchema", {}).get("required", [])
            if options.get("validationAction", "error") == "error" and any(f not in data for f in required):
                raise mongomock.WriteError("Document failed validation", 121)
        return super()._insert(data, session, ordered)
