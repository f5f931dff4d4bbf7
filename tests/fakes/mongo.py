"""In-process MongoDB stand-ins (mongomock) behind the same `connect(uri, **kwargs)` seam backstop uses."""

from __future__ import annotations

from typing import Any

import mongomock


class MongoStandIns:
    """One mongomock client per connection string; every connection is recorded (credentials included)."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.connections: list[tuple[str, dict[str, Any]]] = []

    def client(self, uri: str) -> Any:
        if uri not in self.clients:
            self.clients[uri] = mongomock.MongoClient()
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
