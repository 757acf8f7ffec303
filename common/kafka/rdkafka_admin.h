#pragma once
// RdKafkaAdmin: TopicAdmin and GroupAdmin over librdkafka's Admin API.
// Group offsets are changed with rd_kafka_AlterConsumerGroupOffsets (KIP-396, present since
// librdkafka 2.0.0), not by committing through a consumer joined to the group: the broker
// applies it atomically per request and rejects it while the group has members, which is
// exactly the safety check an offset reset needs.

#include <memory>

#include "common/kafka/admin.h"
#include "common/kafka/record.h"

namespace wi::kafka {

class RdKafkaAdmin final : public TopicAdmin, public GroupAdmin {
 public:
  static Result<std::unique_ptr<RdKafkaAdmin>> create(const ClientOptions& client);
  ~RdKafkaAdmin() override;

  Result<std::vector<CreateOutcome>> create_topics(const std::vector<TopicSpec>& topics,
                                                   std::chrono::milliseconds timeout) override;
  Result<TopicInfo> describe_topic(const std::string& name,
                                   std::chrono::milliseconds timeout) override;
  Result<GroupDescription> describe_group(const std::string& group,
                                          std::chrono::milliseconds timeout) override;
  Status alter_group_offsets(const std::string& group,
                             const std::vector<TopicPartitionOffset>& offsets,
                             std::chrono::milliseconds timeout) override;

 private:
  struct Impl;
  explicit RdKafkaAdmin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wi::kafka
