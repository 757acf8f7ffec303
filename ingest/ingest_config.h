#pragma once
// ingestd's configuration (SPEC §2, §3): one immutable struct, loaded once from YAML and the
// environment, validated all at once.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/topics.h"
#include "ingest/sources/source.h"

namespace wi::ingest {

struct RateLimit {
  double per_second = 0;  // 0: unlimited
  double burst = 0;       // bucket size; defaults to max(1, per_second)
};

struct SourceConfig {
  SourceSettings settings;
  std::string topic;
  std::int64_t max_body_bytes = 0;
  RateLimit rate_limit;
  std::vector<std::string> forward_headers;  // lowercase request header names
};

enum class AckMode { kDurable, kEnqueued };

struct IngestConfig {
  config::CommonConfig common;
  topics::Layout layout;

  std::string listen_host = "0.0.0.0";
  std::uint16_t listen_port = 8080;
  int threads = 2;
  std::int64_t max_body_bytes = topics::kDefaultMaxBodyBytes;
  std::int64_t max_head_bytes = 16384;
  AckMode ack = AckMode::kDurable;
  // Kafka must confirm within this bound or the request gets 503 (providers allow 10 s).
  std::chrono::milliseconds publish_timeout{5000};
  std::chrono::milliseconds header_timeout{10000};  // first byte of a request → end of its head
  std::chrono::milliseconds body_timeout{60000};    // end of head → end of body
  std::chrono::milliseconds idle_timeout{60000};    // keep-alive connection with no request
  std::chrono::milliseconds drain_timeout{8000};    // SIGTERM → exit, within SPEC's 10 s
  // Abuse bounds (issue 13): open connections, bytes of unanswered bodies held in memory
  // (503 + Retry-After beyond it), and the slowest average body rate accepted after 5 s.
  std::int64_t max_connections = 10000;
  std::int64_t max_buffered_bytes = 256LL << 20;
  std::int64_t min_body_rate = 1024;  // bytes/s; 0 turns the check off
  int linger_ms = 1;
  std::string compression = "lz4";
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
  std::optional<std::string> spool_dir;
  std::int64_t spool_max_bytes = 1LL << 30;
  // With a spool: Kafka must confirm within this bound, else the record is spooled.
  std::chrono::milliseconds spool_after{2000};

  std::vector<SourceConfig> sources;             // enabled sources only
  std::vector<std::string> disabled_builtins;    // built-ins without a secret (404)
};

// Records every problem in `loader`; the caller's loader.finish() throws them together.
IngestConfig load_ingest_config(config::Loader& loader);

}  // namespace wi::ingest
