#include "workers/runtime/state_store.h"

#include <fmt/format.h>

namespace wi::worker {

std::optional<std::string> StateStore::get(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

Status StateStore::put(const std::string& key, std::string value) {
  auto s = write(key, value);
  if (s) values_[key] = std::move(value);
  return s;
}

Status StateStore::erase(const std::string& key) {
  auto s = write(key, std::nullopt);
  if (s) values_.erase(key);
  return s;
}

void StateStore::apply(const std::string& key, const std::optional<std::string>& value) {
  if (value) {
    values_[key] = *value;
  } else {
    values_.erase(key);
  }
}

Status StateStore::write(const std::string& key, std::optional<std::string> value) {
  kafka::OutgoingRecord record;
  record.topic = topic_;
  record.key = key;
  record.partition = partition_;  // co-partitioned with the input, whatever the partitioner
  record.tombstone = !value.has_value();
  record.value = value.value_or("");
  auto delivered = kafka::publish_and_wait(publisher_, std::move(record), std::chrono::seconds(30));
  if (!delivered) {
    return Error{delivered.error().code,
                 fmt::format("state write to {}: {}", topic_, delivered.error().message), true};
  }
  return {};
}

}  // namespace wi::worker
