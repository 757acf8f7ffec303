#pragma once
// ingestd's process lifecycle: config, logging, adapters, serve, drain on SIGTERM.

namespace wi::ingest {

// Exit codes: 0 after a clean drain, 1 on a startup failure (port in use, Kafka client), 2 for
// invalid configuration or usage.
int run_ingestd(int argc, char** argv);

}  // namespace wi::ingest
