#include "ctl/command.h"

#include "common/log.h"

namespace wi::ctl {

CtlConfig load_config(const GlobalFlags& flags) {
  auto env = config::Environment::from_process();
  config::Loader loader(config::config_path(flags.config_file, env), env);
  CtlConfig c;
  c.common = config::load_common(loader);
  c.layout = topics::load_layout(loader);
  // Sections validated in depth by the binaries that use them.
  for (const char* section : {"ingest", "sources", "worker", "dropbox", "chargify", "deploy"}) {
    loader.ignore({section});
  }
  loader.finish();
  // Tool output goes to stdout; our own diagnostics stay on stderr at warn and above unless
  // the operator asks for more.
  log::Options log_options{c.common.log_level == "info" ? "warn" : c.common.log_level,
                           c.common.log_format};
  log::setup(log_options, loader.secrets());
  return c;
}

kafka::ClientOptions client_options(const CtlConfig& config) {
  kafka::ClientOptions client;
  client.brokers = config.common.kafka_brokers;
  client.client_id = "ingestctl";
  client.properties.assign(config.common.kafka_properties.begin(),
                           config.common.kafka_properties.end());
  return client;
}

}  // namespace wi::ctl
