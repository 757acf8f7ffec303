#pragma once
// deploy-worker's wiring: the one place where the real adapters (posix_spawn, git, curl, the
// ledger files) are built and handed to the DeployHandler. main() is one run_worker() call.

#include "common/config.h"
#include "workers/runtime/worker_app.h"

namespace wi::deploy {

// `env` decides the default consumer group (deploy-<DEPLOY_HOST or hostname>) before the
// configuration is loaded.
worker::WorkerDescription deploy_worker_description(const config::Environment& env);

}  // namespace wi::deploy
