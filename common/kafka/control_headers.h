#pragma once
// Record headers that steer replay, redrive and dead-lettering (SPEC §4–§6). Only ingestctl and
// the worker runtime write them; ingestd never lets an HTTP request set one
// (ingest_config.cpp refuses to forward them). One place for the names, so the writers and
// the readers cannot drift apart.

namespace wi::kafka::control_headers {

// Written by `ingestctl replay --event-id`: <topic>/<partition>/<offset> of the original.
inline constexpr const char* kReplayedFrom = "replayed-from";
// Written by `ingestctl redrive` / `replay --for-group`: only that consumer group handles it.
inline constexpr const char* kRedriveForGroup = "redrive-for-group";
inline constexpr const char* kRedriveCount = "redrive-count";
// Written by the runtime on dead letters.
inline constexpr const char* kDlqGroup = "dlq-group";
inline constexpr const char* kDlqOriginalTopic = "dlq-original-topic";

}  // namespace wi::kafka::control_headers
