#pragma once
// The topic layout of SPEC §4: every topic the system uses, with partitions, replication and
// per-topic configuration. ingestd, the workers and `ingestctl topics create` all take topic
// names from here, so a name exists in one place only.

#include <cstdint>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/kafka/admin.h"

namespace wi::topics {

inline constexpr const char* kDropboxAccounts = "dropbox.accounts";
inline constexpr const char* kDropboxChanges = "dropbox.changes";
inline constexpr const char* kDropboxCursors = "dropbox.cursors";
inline constexpr const char* kChargifyFulfilments = "chargify.fulfilments";
inline constexpr const char* kGithubDeploys = "github.deploys";
inline constexpr const char* kDlqSuffix = ".dlq";

// INGEST_MAX_BODY_BYTES: its default and allowed range. ingestd reads it for its limit and the
// topic layout reads it to size the topics, so both take these.
inline constexpr std::int64_t kDefaultMaxBodyBytes = 25 << 20;  // GitHub's payload cap
inline constexpr std::int64_t kMinMaxBodyBytes = 1024;
inline constexpr std::int64_t kMaxMaxBodyBytes = std::int64_t{1} << 30;
// Room a record needs beyond its body (headers, key, batch overhead).
inline constexpr std::int64_t kRecordOverheadBytes = 1 << 20;

struct Layout {
  std::string prefix = "webhooks.";
  int partitions = 6;
  int replication = 1;
  // Largest record a webhook topic must hold: the body limit plus room for headers.
  std::int64_t max_message_bytes = kDefaultMaxBodyBytes + kRecordOverheadBytes;
  // Every source name: built-ins and those configured under `sources:`.
  std::vector<std::string> sources = {"dropbox", "chargify", "github"};

  std::string webhook_topic(const std::string& source) const { return prefix + source; }
};

// Reads `topics.{prefix,partitions,replication}` (env TOPIC_PREFIX, TOPIC_PARTITIONS,
// TOPIC_REPLICATION), INGEST_MAX_BODY_BYTES and the names under `sources:`.
Layout load_layout(config::Loader& loader);

// Every topic of SPEC §4: webhooks.<source> for every source, the worker topics (state topics
// compacted, co-partitioned with their inputs) and a .dlq for every topic a worker consumes.
std::vector<kafka::TopicSpec> all_topics(const Layout& layout);

}  // namespace wi::topics
