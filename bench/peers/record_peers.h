// Record lookup peers: RecordCache lookups and the same lookups as SQLite queries, behind the
// Peer interface so the record suite reuses the throughput runner (pinning, noise, latency).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "larder/record_cache.h"
#include "peer.h"

namespace larder::bench {

// The table the record suite builds: row i (0-based) has id i + 1, email RecordEmail(i + 1),
// org_id (i + 1) % RecordOrgCount(rows), so every org has 10 users.
std::string RecordEmail(int64_t id);
inline int64_t RecordOrgCount(size_t rows) { return static_cast<int64_t>(rows / 10); }

enum class LookupKind { kById, kByUniqueKey, kByMultiKey };
// "get_by_id", "get_by_key_unique", "get_by_key_multi".
const char* LookupWorkloadName(LookupKind kind);

// Lookups of a loaded RecordCache. Stream key k means id k + 1 (or its email, or its org).
// Reads only. `emails[k]` is RecordEmail(k + 1).
std::unique_ptr<Peer> MakeRecordCachePeer(RecordCache* cache, LookupKind kind,
                                          const std::vector<std::string>* emails, size_t rows);

// The same lookups as prepared SQLite queries, one read-only connection per worker, on the
// table's primary key, its UNIQUE email index and an index on org_id.
std::unique_ptr<Peer> MakeSqliteQueryPeer(const std::string& db_path, LookupKind kind,
                                          const std::vector<std::string>* emails, size_t rows);

}  // namespace larder::bench
