#pragma once
// TopicAdmin: idempotent topic creation and inspection.
// GroupAdmin: consumer-group inspection and offset changes for operator tools.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/kafka/record.h"
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

struct GroupMember {
  std::string member_id;  // the broker-assigned consumer id
  std::string client_id;
  std::string host;  // as the broker saw it, e.g. "/127.0.0.1"
  std::vector<TopicPartition> assignment;  // the partitions the group gave this member
};

struct GroupDescription {
  std::string group;
  // The broker's state name: "Empty", "Stable", "PreparingRebalance", "CompletingRebalance",
  // or "Dead" (also what a group that never existed reports).
  std::string state;
  std::vector<GroupMember> members;

  // True when no consumer is in the group, so its committed offsets may be changed.
  bool inactive() const { return members.empty() && (state == "Empty" || state == "Dead"); }
};

// Thread-safe; each call blocks up to `timeout`.
class GroupAdmin {
 public:
  virtual ~GroupAdmin() = default;
  // The group's state and active members. A group that does not exist is described as "Dead"
  // with no members (not an error).
  virtual Result<GroupDescription> describe_group(const std::string& group,
                                                  std::chrono::milliseconds timeout) = 0;
  // Sets the group's committed offsets ("next offset to read") for these partitions. The broker
  // refuses while the group has active members (kConflict); the first partition-level error
  // fails the whole call (the others may have been applied).
  virtual Status alter_group_offsets(const std::string& group,
                                     const std::vector<TopicPartitionOffset>& offsets,
                                     std::chrono::milliseconds timeout) = 0;
};

}  // namespace wi::kafka
