#pragma once
// TopicAdmin: idempotent topic creation and inspection.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace wi::kafka {

struct TopicSpec {
  std::string name;
  int partitions = 6;
  int replication = 1;
  std::map<std::string, std::string> config;  // e.g. cleanup.policy=compact
};

enum class CreateOutcome { kCreated, kAlreadyExisted };

struct TopicInfo {
  std::string name;
  int partitions = 0;
  std::map<std::string, std::string> config;  // every topic config the broker reports
};

// Thread-safe; each call blocks up to `timeout`.
class TopicAdmin {
 public:
  virtual ~TopicAdmin() = default;
  // Creates the topics that do not exist; existing ones are left untouched. One outcome per
  // spec, in order; an error only when a topic could not be created.
  virtual Result<std::vector<CreateOutcome>> create_topics(const std::vector<TopicSpec>& topics,
                                                           std::chrono::milliseconds timeout) = 0;
  virtual Result<TopicInfo> describe_topic(const std::string& name,
                                           std::chrono::milliseconds timeout) = 0;
};

}  // namespace wi::kafka
