#include "ctl/ingestd_target.h"

#include <algorithm>

#include "common/log.h"

namespace wi::ctl {

ingest::IngestConfig load_ingestd_config(const GlobalFlags& flags) {
  auto env = config::Environment::from_process();
  config::Loader loader(config::config_path(flags.config_file, env), env);
  ingest::IngestConfig config = ingest::load_ingest_config(loader);
  // The sections ingestd leaves to the workers (ingestd_app.cpp does the same).
  for (const char* section : {"worker", "dropbox", "chargify", "deploy"}) loader.ignore({section});
  loader.finish();
  log::Options log_options{config.common.log_level == "info" ? "warn" : config.common.log_level,
                           config.common.log_format};
  log::setup(log_options, loader.secrets());
  return config;
}

Result<const ingest::SourceConfig*> find_source(const ingest::IngestConfig& config,
                                                const std::string& name) {
  for (const auto& s : config.sources) {
    if (s.settings.name == name) return &s;
  }
  const auto& disabled = config.disabled_builtins;
  if (std::find(disabled.begin(), disabled.end(), name) != disabled.end()) {
    return Error::not_found("source '" + name +
                            "' is disabled: its secret is not set, so ingestd answers 404 for "
                            "it (the built-ins read DROPBOX_APP_SECRET, CHARGIFY_SHARED_KEY and "
                            "GITHUB_WEBHOOK_SECRET, or <NAME>_FILE)");
  }
  std::string enabled;
  for (const auto& s : config.sources) enabled += (enabled.empty() ? "" : ", ") + s.settings.name;
  return Error::not_found("unknown source '" + name +
                          "' (enabled: " + (enabled.empty() ? "none" : enabled) + ")");
}

std::string default_base_url(const ingest::IngestConfig& config) {
  const std::string& host = config.listen_host;
  const bool wildcard = host.empty() || host == "0.0.0.0" || host == "::" || host == "*";
  std::string h = wildcard ? "127.0.0.1" : host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  const bool tls = config.tls_cert.has_value();
  return std::string(tls ? "https://" : "http://") + h + ":" + std::to_string(config.listen_port);
}

}  // namespace wi::ctl
