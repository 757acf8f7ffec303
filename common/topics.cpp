#include "common/topics.h"

#include <algorithm>

namespace wi::topics {

Layout load_layout(config::Loader& loader) {
  Layout layout;
  layout.prefix = loader.string({"topics", "prefix"}, "TOPIC_PREFIX", layout.prefix);
  layout.partitions = static_cast<int>(
      loader.integer({"topics", "partitions"}, "TOPIC_PARTITIONS", layout.partitions, 1, 10000));
  layout.replication = static_cast<int>(
      loader.integer({"topics", "replication"}, "TOPIC_REPLICATION", layout.replication, 1, 100));
  auto body_limit = loader.integer({"ingest", "max_body_bytes"}, "INGEST_MAX_BODY_BYTES",
                                   kDefaultMaxBodyBytes, kMinMaxBodyBytes, kMaxMaxBodyBytes);
  layout.max_message_bytes = body_limit + kRecordOverheadBytes;
  for (const auto& name : loader.keys({"sources"})) {
    if (std::find(layout.sources.begin(), layout.sources.end(), name) == layout.sources.end()) {
      layout.sources.push_back(name);
    }
  }
  return layout;
}

std::vector<kafka::TopicSpec> all_topics(const Layout& layout) {
  const std::string max_bytes = std::to_string(layout.max_message_bytes);
  auto spec = [&](std::string name, std::map<std::string, std::string> config = {}) {
    config.emplace("max.message.bytes", max_bytes);
    return kafka::TopicSpec{std::move(name), layout.partitions, layout.replication,
                            std::move(config)};
  };
  const std::map<std::string, std::string> compact = {{"cleanup.policy", "compact"}};

  std::vector<kafka::TopicSpec> out;
  for (const auto& source : layout.sources) out.push_back(spec(layout.webhook_topic(source)));
  // Worker outputs and state. State topics share their input's partition count (all use
  // layout.partitions), which keeps a key's state on the partition its input lands on.
  out.push_back(spec(kDropboxAccounts));
  out.push_back(spec(kDropboxChanges));
  out.push_back(spec(kDropboxCursors, compact));
  out.push_back(spec(kChargifyFulfilments, compact));
  out.push_back(spec(kGithubDeploys));
  // Dead letters for every topic a worker consumes.
  for (const auto& consumed : {layout.webhook_topic("dropbox"), std::string(kDropboxAccounts),
                               layout.webhook_topic("chargify"), layout.webhook_topic("github")}) {
    out.push_back(spec(consumed + kDlqSuffix));
  }
  return out;
}

}  // namespace wi::topics
