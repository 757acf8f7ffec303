#pragma once
// What `send` and `bench` need to talk to ingestd as a provider would: ingestd's own
// configuration (loaded exactly as ingestd loads it: YAML, then environment, secrets from the
// environment or files), the source to sign for, and ingestd's default URL.

#include <string>

#include "common/result.h"
#include "ctl/command.h"
#include "ingest/ingest_config.h"

namespace wi::ctl {

// ingestd's configuration, validated as ingestd validates it; also sets up logging (warn and
// above unless LOG_LEVEL asks for more, secrets redacted). Throws config::ConfigError.
ingest::IngestConfig load_ingestd_config(const GlobalFlags& flags);

// The enabled source called `name`; Error::not_found saying whether it is unknown or disabled
// (a built-in whose secret is not set) and what is configured.
Result<const ingest::SourceConfig*> find_source(const ingest::IngestConfig& config,
                                                const std::string& name);

// "http://127.0.0.1:<port>" for ingestd's INGEST_LISTEN (the listen host itself when it is a
// specific address; https when ingestd serves TLS).
std::string default_base_url(const ingest::IngestConfig& config);

}  // namespace wi::ctl
