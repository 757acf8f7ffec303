#pragma once
// State restore (SPEC §5): before a worker handles the first record of a newly assigned
// partition, that partition's StateStore is rebuilt from the compacted changelog, read from
// its beginning up to the end offset seen when the restore started.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/kafka/consumer.h"
#include "common/kafka/publisher.h"
#include "workers/runtime/state_store.h"

namespace wi::worker {

struct RestoreReport {
  std::size_t applied = 0;  // changelog records applied
  std::size_t keys = 0;     // keys in the restored stores
};

// Fills `stores[p]` with a fresh StateStore (writing to `publisher`) for every partition in
// `partitions`, then applies the changelog to them through `reader`, a consumer outside any
// group that this call assigns, drains and closes. Throws std::runtime_error when the
// changelog cannot be read completely within 120 s of `clock`: a worker must not handle a
// partition with partial state.
RestoreReport restore_state(kafka::Consumer& reader, kafka::Publisher& publisher,
                            const std::string& changelog,
                            const std::vector<std::int32_t>& partitions,
                            std::map<std::int32_t, std::unique_ptr<StateStore>>& stores,
                            const Clock& clock);

}  // namespace wi::worker
