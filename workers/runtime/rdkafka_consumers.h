#pragma once
// The runtime's consumers over librdkafka: a group member with the runtime's session and poll
// settings, and restore readers that join no group.

#include "workers/runtime/worker_runtime.h"

namespace wi::worker {

RuntimeConsumers rdkafka_consumers(const RuntimeOptions& options);

}  // namespace wi::worker
