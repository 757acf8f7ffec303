#pragma once
// RdKafkaAdmin: TopicAdmin over librdkafka's Admin API.

#include <memory>

#include "common/kafka/admin.h"
#include "common/kafka/record.h"

namespace wi::kafka {

class RdKafkaAdmin final : public TopicAdmin {
 public:
  static Result<std::unique_ptr<RdKafkaAdmin>> create(const ClientOptions& client);
  ~RdKafkaAdmin() override;

  Result<std::vector<CreateOutcome>> create_topics(const std::vector<TopicSpec>& topics,
                                                   std::chrono::milliseconds timeout) override;
  Result<TopicInfo> describe_topic(const std::string& name,
                                   std::chrono::milliseconds timeout) override;

 private:
  struct Impl;
  explicit RdKafkaAdmin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wi::kafka
