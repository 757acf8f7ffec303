#pragma once
// dropbox-worker's settings (SPEC §5 "dropbox-worker"): YAML `dropbox:` plus the environment.
//
//   dropbox:
//     source: dropbox            # DROPBOX_SOURCE: fans out webhooks.<source>
//     initial_sync: skip         # DROPBOX_INITIAL_SYNC: emit|skip the entries of a first listing
//     api_url: https://api.dropboxapi.com     # DROPBOX_API_URL
//     oauth_url: https://api.dropbox.com      # DROPBOX_OAUTH_URL
//     api_timeout_ms: 8000       # DROPBOX_API_TIMEOUT_MS: one API call, the whole exchange
//                                # (under the 10 s a worker has to stop on SIGTERM: a call
//                                # in flight cannot be interrupted)
//     max_calls_per_second: 10   # DROPBOX_MAX_CALLS_PER_SECOND: API calls of this process
//                                # (0 = no cap); see README "dropbox-worker"
//     max_rate_limit_wait_s: 120 # DROPBOX_MAX_RATE_LIMIT_WAIT_S: 429 waits within one record;
//                                # a longer Retry-After re-queues the account record
//     accounts_topic: dropbox.accounts   # DROPBOX_ACCOUNTS_TOPIC
//     changes_topic: dropbox.changes     # DROPBOX_CHANGES_TOPIC
//     cursors_topic: dropbox.cursors     # DROPBOX_CURSORS_TOPIC (compacted, co-partitioned)
//     consume: both              # DROPBOX_CONSUME: both|notifications|accounts — which of the
//                                # two topics this process takes (see README: scaling pollers)
//
// Secrets and token files come from the environment only: DROPBOX_TOKENS_FILE (a path),
// DROPBOX_APP_KEY and DROPBOX_APP_SECRET (or their _FILE forms).

#include <chrono>
#include <optional>
#include <string>

#include "common/config.h"
#include "common/secret.h"

namespace wi::dropbox {

enum class InitialSync { kSkip, kEmit };

// The topics a process consumes. Kafka's cooperative-sticky assignor balances the number of
// partitions per member, not per topic: with both topics, one of two members may end up with
// every notification partition and the other with every account partition. Dedicated pollers
// (`accounts`) in the same group spread the polling evenly.
enum class Consume { kBoth, kNotifications, kAccounts };

struct DropboxConfig {
  std::string source = "dropbox";
  InitialSync initial_sync = InitialSync::kSkip;
  Consume consume = Consume::kBoth;
  std::string api_url = "https://api.dropboxapi.com";
  std::string oauth_url = "https://api.dropbox.com";
  std::chrono::milliseconds api_timeout{8000};
  double max_calls_per_second = 10;
  std::chrono::seconds max_rate_limit_wait{120};
  std::string accounts_topic;
  std::string changes_topic;
  std::string cursors_topic;
  std::optional<std::string> tokens_file;
  std::optional<Secret> app_key;
  std::optional<Secret> app_secret;
};

// Reads and checks every setting; problems go to the loader (reported by Loader::finish()).
DropboxConfig load_dropbox_config(config::Loader& loader);

}  // namespace wi::dropbox
